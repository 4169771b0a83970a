"""`regress score`: run the batch scoring flow over new rows."""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from regress_cli.paths import absolute, absolute_home, add_home

if TYPE_CHECKING:
    from regress_core.config import ScoringConfig
    from regress_core.scoring.results import ScoreSummary, ScoringSkipped


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    from regress_core.config import ScoringConfig

    defaults = {name: field.default for name, field in ScoringConfig.model_fields.items()}
    score = commands.add_parser("score", help="score new rows with the champion or a given version", parents=[common])
    score.add_argument(
        "--input",
        required=True,
        help="CSV/Parquet file, folder or glob; local path or fsspec URL; {as_of} names the day's batch",
    )
    score.add_argument(
        "--output",
        required=True,
        help="predictions Parquet file to write; local path or object-storage URL; {as_of} names the day",
    )
    score.add_argument("--query", help="with an --input database URL: the query of the day's rows (takes :as_of)")
    score.add_argument("--table", help="with an --output database URL: the table whose as_of rows are replaced")
    score.add_argument("--as-of", metavar="DAY", help="the day to score (date or ISO date-time, UTC; default: today)")
    score.add_argument("--start", metavar="DAY", help="backfill: score every day from this one ...")
    score.add_argument("--end", metavar="DAY", help="... to this one (included), in turn")
    score.add_argument("--stamp", action="store_true", help="add model, model_version and as_of columns")
    score.add_argument(
        "--interval",
        nargs="?",
        const="model",
        type=interval_level,
        metavar="LEVEL",
        help="add lower and upper columns: prediction intervals at LEVEL (such as 0.8); "
        "without LEVEL, at the version's own level (model.interval, 0.9 by default)",
    )
    score.add_argument(
        "--if-missing",
        choices=["fail", "skip"],
        default="fail",
        help="when the day's input has not arrived: fail (default, an error) or skip (exit 0)",
    )
    score.add_argument(
        "--skip-scored",
        action="store_true",
        help="do nothing for a day already scored into this output with the same model version and input",
    )
    score.add_argument(
        "--model",
        default="champion",
        help="NAME (its champion) or NAME@v0003; champion (default) or v0003 while the registry holds one model",
    )
    score.add_argument(
        "--keep", action="append", default=[], metavar="COLUMN", help="copy an input column (e.g. an id) to the output"
    )
    score.add_argument(
        "--on-invalid",
        choices=["fail", "drop"],
        default="fail",
        help="fail (default) writes nothing on bad rows; drop scores the valid ones",
    )
    score.add_argument(
        "--batch-rows", type=int, default=defaults["batch_rows"], help="rows per record batch (bounds memory)"
    )
    score.add_argument(
        "--drift-threshold",
        type=float,
        default=defaults["drift_threshold"],
        help="warn when a feature's PSI exceeds this",
    )
    score.add_argument(
        "--task-runner",
        choices=["local", "dask"],
        default="local",
        help="dask: one mapped task per file, or per range of row groups of a large Parquet file",
    )
    score.add_argument("--dask-address", help="Dask scheduler address (default: a local cluster)")
    score.add_argument(
        "--dask-workers", type=int, default=defaults["dask_workers"], help="workers of a local Dask cluster"
    )
    score.add_argument(
        "--partition-rows",
        type=int,
        default=defaults["partition_rows"],
        help="score a Parquet file in ranges of whole row groups of at least N rows (dask's partitions)",
    )
    score.add_argument(
        "--precision",
        choices=["auto", "float32", "bfloat16"],
        default=defaults["precision"],
        help="network precision: auto (bfloat16 where the hardware computes it natively), float32 or bfloat16",
    )
    add_home(score)


def interval_level(text: str) -> float | str:
    """`--interval`'s LEVEL: a number, or `model` (the version's own level, as `--interval` alone)."""
    if text == "model":
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a level such as 0.8, got {text!r}") from None


def run(args: argparse.Namespace) -> int:
    from regress_cli.sql_scoring import run_with_sql, uses_sql

    if args.interval is not None:
        check_interval(args)  # before a database, a server or any input is reached
    if uses_sql(args):  # a database input or output, through Parquet files (regress_cli/sql_scoring.py)
        return run_with_sql(args, run)
    from regress_core.config import build_scoring_config

    params = build_scoring_config(
        {
            "input": absolute(args.input),
            "output": args.output,
            "model": args.model,
            "keep": args.keep,
            "on_invalid": args.on_invalid,
            "batch_rows": args.batch_rows,
            "drift_threshold": args.drift_threshold,
            "task_runner": args.task_runner,
            "dask_address": args.dask_address,
            "dask_workers": args.dask_workers,
            "partition_rows": args.partition_rows,
            "precision": args.precision,
            "stamp": args.stamp,
            "interval": args.interval,
            "if_missing": args.if_missing,
            "skip_scored": args.skip_scored,
            "home": absolute_home(args.home),
        }
    )
    from regress_core.registry.signing import signing_key

    # Before a Prefect server is started or reached: an empty signing key, the days, the output and inputs.
    signing_key()
    days = backfill_range(args, params)
    as_of = None if days else parse_day(args.as_of)
    if as_of is not None and not ready(params, as_of):
        return 0
    from flows.scoring import batch_scoring
    from regress_cli.environment import quiet_expected_errors
    from regress_cli.prefect_api import prefect_api
    from regress_cli.render import print_scoring_summary
    from regress_core.scoring.results import ScoringSkipped

    if not args.debug:
        quiet_expected_errors()
    with prefect_api():
        if days:
            return backfill(params, days)
        result = batch_scoring(params=params, as_of=as_of)
    if isinstance(result, ScoringSkipped):
        print(result.message)
    else:
        print_scoring_summary(result, drift_threshold=args.drift_threshold)
    return 0


def check_interval(args: argparse.Namespace) -> None:
    """Refuse intervals the version cannot give (none stored, a level not stored or too high) before any input is read.

    The flow checks again, with the version it resolves; it alone checks a workspace in object
    storage, which may need the credentials of the storage block the flow applies.
    """
    from regress_core.pipeline.workspace import Workspace
    from regress_core.registry.catalog import Registry
    from regress_core.registry.package import load_package_once
    from regress_core.scoring.intervals import interval_level as version_level

    workspace = Workspace.at(absolute_home(args.home))
    if workspace.url is not None:
        return
    model, ref = Registry(workspace.registry_dir).resolve(args.model)
    version_level(load_package_once(model, ref.version), args.interval)


def parse_day(text: str | None) -> datetime:
    """`--as-of` as an instant in UTC (a date is its midnight); now when not given."""
    from regress_core.data.window import parse_instant
    from regress_core.errors import ConfigError

    if text is None:
        return datetime.now(UTC)
    try:
        return parse_instant(text)
    except ConfigError as exc:
        raise ConfigError(f"--as-of: {exc}") from exc


def backfill_range(args: argparse.Namespace, params: ScoringConfig) -> list[date]:
    """The days of `--start` to `--end`; none without them."""
    from regress_core.errors import ConfigError
    from regress_core.scoring.dated import backfill_days

    if args.start is None and args.end is None:
        return []
    if args.start is None or args.end is None:
        raise ConfigError("a backfill needs both --start and --end")
    if args.as_of is not None:
        raise ConfigError("give either --as-of (one day) or --start and --end (a backfill), not both")
    return backfill_days(args.start, args.end, params=params)


def ready(params: ScoringConfig, as_of: datetime) -> bool:
    """Check the day's input and output before a server is reached; False (after one line) for a day to skip."""
    from regress_core.pipeline.preflight import preflight_scoring
    from regress_core.scoring.batches import expand_inputs
    from regress_core.scoring.dated import check_input, for_day, scoring_day

    day = scoring_day(as_of)
    skipped = check_input(params, day)
    if skipped is not None:
        print(skipped.message)
        return False
    job = for_day(params, day)
    preflight_scoring(job, expand_inputs(job.input))
    return True


def backfill(params: ScoringConfig, days: list[date]) -> int:
    """Score each day in turn with a progress bar; end with a table of the days (also when one fails)."""
    from tqdm.auto import tqdm

    from flows.scoring import batch_scoring

    rows: list[tuple[str, str, str, str]] = []
    try:
        for day in tqdm(days, desc="backfill", unit="day", disable=None):
            result = batch_scoring(params=params, as_of=datetime(day.year, day.month, day.day, tzinfo=UTC))
            rows.append(backfill_row(day, result))
    except BaseException:
        rows.append((days[len(rows)].isoformat(), "", "", "failed"))
        print_backfill(rows)
        raise
    print_backfill(rows)
    return 0


def backfill_row(day: date, result: ScoreSummary | ScoringSkipped) -> tuple[str, str, str, str]:
    from regress_core.scoring.results import ScoringSkipped

    if isinstance(result, ScoringSkipped):
        status = "already scored" if result.reason == "already-scored" else "no input (skipped)"
        return day.isoformat(), str(result.rows) if result.model_version else "", result.model_version, status
    return day.isoformat(), str(result.rows_scored), result.model_version, "scored"


def print_backfill(rows: list[tuple[str, str, str, str]]) -> None:
    print()
    print(f"{'date':<12}{'rows':>10}  {'version':<9}status")
    for day, count, version, status in rows:
        print(f"{day:<12}{count:>10}  {version:<9}{status}")
