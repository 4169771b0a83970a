"""The `regress` command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from regress_core.errors import RegressError

EXIT_CODES = """exit codes:
  0  success (for train: the run completed, promoted or not)
  2  usage or configuration error
  3  data error (unreadable input or failed validation)
  4  runtime error (training diverged, registry problem)
  1  unexpected error (run again with --debug for the traceback)"""


def _add_home(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--home", help="workspace folder (default: $REGRESS_HOME or ./regress-home)")


def build_parser() -> argparse.ArgumentParser:
    from regress_core.config import ScoringConfig

    scoring_defaults = {name: field.default for name, field in ScoringConfig.model_fields.items()}
    parser = argparse.ArgumentParser(prog="regress", description="Tabular regression pipeline with PyTorch and Prefect.", epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="run the training flow")
    train.add_argument("--config", help="YAML or JSON configuration file")
    train.add_argument("--data", help="source: california_housing, linear, parabola, a CSV/Parquet path or URL")
    train.add_argument("--target", help="target column")
    train.add_argument("--contract", help="data contract YAML")
    train.add_argument("--preset", help="default, notebook or linear")
    train.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="override a setting, e.g. train.lr=0.01")
    train.add_argument("--refresh-cache", action="store_true", help="recompute every stage")
    _add_home(train)

    models = commands.add_parser("models", help="inspect the model registry")
    model_commands = models.add_subparsers(dest="models_command", required=True)
    listing = model_commands.add_parser("list", help="list versions and the champion")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    _add_home(listing)
    show = model_commands.add_parser("show", help="show one version")
    show.add_argument("version", help="a version such as v0001, or champion")
    _add_home(show)
    promote = model_commands.add_parser("promote", help="make a version the champion (audited)")
    promote.add_argument("version", help="a version such as v0003")
    promote.add_argument("--reason", required=True, help="why; recorded in the audit history")
    _add_home(promote)
    rollback = model_commands.add_parser("rollback", help="return to the previous champion (audited)")
    rollback.add_argument("--reason", required=True, help="why; recorded in the audit history")
    _add_home(rollback)
    history = model_commands.add_parser("history", help="every champion change")
    history.add_argument("--json", action="store_true", help="machine-readable output")
    _add_home(history)

    score = commands.add_parser("score", help="score new rows with the champion or a given version")
    score.add_argument("--input", required=True, help="CSV/Parquet file, folder or glob; local path or fsspec URL")
    score.add_argument("--output", required=True, help="predictions Parquet file to write")
    score.add_argument("--model", default="champion", help="champion (default) or a version such as v0003")
    score.add_argument("--keep", action="append", default=[], metavar="COLUMN", help="copy an input column (e.g. an id) to the output")
    score.add_argument("--on-invalid", choices=["fail", "drop"], default="fail", help="fail (default) writes nothing on bad rows; drop scores the valid ones")
    score.add_argument("--batch-rows", type=int, default=scoring_defaults["batch_rows"], help="rows per record batch (bounds memory)")
    score.add_argument("--drift-threshold", type=float, default=scoring_defaults["drift_threshold"], help="warn when a feature's PSI exceeds this")
    score.add_argument("--task-runner", choices=["local", "dask"], default="local", help="dask: one mapped task per input file")
    score.add_argument("--dask-address", help="Dask scheduler address (default: a local cluster)")
    score.add_argument("--dask-workers", type=int, default=scoring_defaults["dask_workers"], help="workers of a local Dask cluster")
    _add_home(score)

    ui = commands.add_parser("ui", help="a local Prefect server with the deployments and a worker")
    ui_commands = ui.add_subparsers(dest="ui_command", required=True)
    ui_start = ui_commands.add_parser("start", help="start server, work pool, deployments and worker")
    ui_start.add_argument("--port", type=int, default=None, help="port on 127.0.0.1 (default 4200, or a free one)")
    _add_home(ui_start)
    ui_stop = ui_commands.add_parser("stop", help="stop worker and server")
    _add_home(ui_stop)

    contract = commands.add_parser("contract", help="data contracts")
    contract_commands = contract.add_subparsers(dest="contract_command", required=True)
    infer = contract_commands.add_parser("infer", help="write a starting contract from a good file")
    infer.add_argument("file", help="CSV or Parquet file")
    infer.add_argument("--target", required=True, help="target column")
    infer.add_argument("--output", help="where to write the YAML (default: print it)")
    return parser


def _absolute(path: str | None) -> str | None:
    from regress_core.sources import source_kind

    if path is None or "://" in path or source_kind(path) != "file":
        return path
    return str(Path(path).expanduser().resolve())


def run_train(args: argparse.Namespace) -> int:
    from regress_core.config import build_config

    values: dict[str, Any] = {}
    data = {key: value for key, value in {"source": _absolute(args.data), "target": args.target, "contract": _absolute(args.contract)}.items() if value}
    if data:
        values["data"] = data
    if args.preset:
        values["preset"] = args.preset
    if args.home:
        values["registry"] = {"home": str(Path(args.home).resolve())}
    config = build_config(path=args.config, values=values, overrides=args.overrides)

    from flows.environment import quiet_expected_errors
    from flows.training import training

    if not args.debug:
        quiet_expected_errors()
    summary = training(config=config, refresh_cache=args.refresh_cache)
    print_training_summary(summary)
    return 0


def print_training_summary(summary: dict[str, Any]) -> None:
    from regress_core.report import metrics_rows

    print()
    if summary.get("inferred_contract"):
        print(f"inferred contract: {summary['inferred_contract']}")
        print(f"  saved as {summary['contract_path']}; edit it and pass --contract to change it")
    print(f"{'model':<20}{'MSE':>10}{'RMSE':>10}{'MAE':>10}{'R2':>10}")
    for name, values in metrics_rows(summary):
        print(f"{name:<20}" + "".join(f"{values[key]:>10.4f}" for key in ("mse", "rmse", "mae", "r2")))
    decision = summary["decision"]
    print()
    print(f"decision: {decision['summary']}")
    for check in decision["checks"]:
        print(f"  [{'pass' if check['passed'] else 'FAIL'}] {check['text']}")
    cached = ", ".join(summary["cached"]) or "none"
    print(f"cache hits: {cached}")
    print(f"model {summary['version']} in {summary['home']}")


def run_score(args: argparse.Namespace) -> int:
    from regress_core.config import build_scoring_config

    params = build_scoring_config({
        "input": _absolute(args.input), "output": args.output, "model": args.model, "keep": args.keep,
        "on_invalid": args.on_invalid, "batch_rows": args.batch_rows, "drift_threshold": args.drift_threshold,
        "task_runner": args.task_runner, "dask_address": args.dask_address, "dask_workers": args.dask_workers,
        "home": str(Path(args.home).resolve()) if args.home else None,
    })  # fmt: skip
    from flows.environment import quiet_expected_errors
    from flows.scoring import batch_scoring

    if not args.debug:
        quiet_expected_errors()
    summary = batch_scoring(params=params)
    print()
    print(f"scored {summary.rows_scored} of {summary.rows_in} rows from {summary.files} file(s) with model {summary.model_version} in {summary.seconds:.1f} s")
    if summary.rows_rejected:
        print(f"rejected {summary.rows_rejected} rows, with reasons, in {summary.rejected_path}")
    unseen = [f"{name} ({count} rows)" for name, count in summary.unseen_categories.items() if count]
    if unseen:
        print(f"categories not seen in training (encoded as none of the known ones): {', '.join(unseen)}")
    drifted = [f"{name} (PSI {value:.2f})" for name, value in summary.psi.items() if value > args.drift_threshold]
    if drifted:
        print(f"drift warning: {', '.join(drifted)}")
    print(f"predictions: {summary.output_path}")
    return 0


def run_models(args: argparse.Namespace) -> int:
    from regress_core.package import describe_version, resolve_version
    from regress_core.registry import Registry
    from regress_core.workspace import Workspace

    registry = Registry(Workspace.at(args.home).registry_dir)
    if args.models_command in ("promote", "rollback"):
        return run_model_operation(args)
    if args.models_command == "history":
        entries = registry.history()
        if args.json:
            print(json.dumps(entries, indent=2))
        for entry in [] if args.json else entries:
            print(f"{entry['time']}  {entry['action']:<15} {entry['version']} (was {entry['previous']})  {entry['reason']}")
        return 0
    if args.models_command == "list":
        rows = [describe_version(registry, version) for version in registry.versions()]
        if args.json:
            print(json.dumps(rows, indent=2))
            return 0
        if not rows:
            print(f"no models yet in {registry.root}")
            return 0
        print(f"{'':2}{'version':<9}{'created':<27}{'RMSE':>8}{'MAE':>8}{'R2':>8}  preset   source")
        for row in rows:
            m = row["metrics"]
            mark = "* " if row["champion"] else "  "
            print(f"{mark}{row['version']:<9}{row['created_at']:<27}{m['rmse']:>8.4f}{m['mae']:>8.4f}{m['r2']:>8.4f}  {row['preset'] or '':<8} {row['source']}")
        print("* champion")
        return 0
    version = resolve_version(registry, args.version)
    registry.verify(version)
    metadata = registry.metadata(version)
    metadata.pop("history", None)
    metadata["champion"] = registry.champion() == version
    metadata["decisions"] = registry.decisions(version)
    print(json.dumps(metadata, indent=2, default=str))
    return 0


def run_model_operation(args: argparse.Namespace) -> int:
    from flows.environment import quiet_expected_errors
    from flows.operations import promote_model, rollback_model
    from regress_core.operations import check_reason
    from regress_core.registry import Registry
    from regress_core.workspace import Workspace

    check_reason(args.reason)
    home = str(Workspace.at(args.home).root)
    if args.models_command == "promote":
        Registry(Workspace.at(home).registry_dir).check_version_name(args.version)
    if not args.debug:
        quiet_expected_errors()
    if args.models_command == "promote":
        entry = promote_model(version=args.version, reason=args.reason, home=home)
    else:
        entry = rollback_model(reason=args.reason, home=home)
    print(f"champion is now {entry['version']} (was {entry['previous']})")
    return 0


def run_ui(args: argparse.Namespace) -> int:
    from flows import local_server
    from regress_core.workspace import Workspace

    ws = Workspace.at(args.home)
    if args.ui_command == "stop":
        print("stopped" if local_server.stop(ws) else "nothing was running")
        return 0
    print("starting the Prefect server, work pool, deployments and worker (first start migrates a database) ...", flush=True)
    state = local_server.start(ws, port=args.port)
    print(f"Prefect UI: {state['url']}")
    print(f"deployments: training/nightly, batch_scoring/score, promote_model/promote, rollback_model/rollback; logs in {state['logs']}")
    print(f"to send command-line runs to this server: export PREFECT_API_URL={state['api_url']}")
    print("stop with: regress ui stop (or make ui-stop)")
    return 0


def run_contract(args: argparse.Namespace) -> int:
    from regress_core.contract import dump_contract, infer_contract
    from regress_core.fileio import atomic_write_text
    from regress_core.tables import read_table

    df = read_table(_absolute(args.file))
    contract = infer_contract(df, target=args.target, name=Path(args.file).stem)
    text = dump_contract(contract)
    if args.output:
        atomic_write_text(args.output, text)
        print(f"wrote contract for {len(contract.columns)} columns to {args.output}; edit it, then pass --contract {args.output}")
    else:
        print(text, end="")
    return 0


COMMANDS = {"train": run_train, "score": run_score, "models": run_models, "contract": run_contract, "ui": run_ui}


def main(argv: list[str] | None = None) -> int:
    from flows.environment import prepare_environment

    prepare_environment()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except RegressError as exc:
        if args.debug:
            raise
        print(f"regress: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("regress: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
