"""`regress backfill`: train once for each date of a span, in order, in one process with one Prefect server.

Dates already trained (a version on exactly their window's rows) are skipped, so a repeat
makes nothing new and a run stopped with Ctrl-C carries on where it stopped. With
`--deployment`, flow runs of that deployment are submitted instead, one per date, each with
the idempotency key `backfill/<model>/<as_of>`, so a repeat submits no duplicates.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import TYPE_CHECKING, Any

from regress_cli.interrupts import interruption, raise_if_received
from regress_cli.paths import absolute, absolute_home, add_home

if TYPE_CHECKING:
    from regress_core.config import RegressConfig
    from regress_core.errors import RegressError
    from regress_core.pipeline.backfill import BackfillRow


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    backfill = commands.add_parser(
        "backfill", help="train once for each date from --start to --end, in order", parents=[common]
    )
    backfill.add_argument("--start", required=True, metavar="WHEN", help="first as_of: a date or ISO date-time")
    backfill.add_argument("--end", required=True, metavar="WHEN", help="last as_of (included when a step lands on it)")
    backfill.add_argument("--every", default="1d", metavar="STEP", help="step between runs: 1d (default), 12h, 1w")
    backfill.add_argument("--config", help="YAML or JSON configuration file with data.time_column and data.window")
    backfill.add_argument("--data", help="source, as for regress train (dated partitions, a file, a URL)")
    backfill.add_argument("--target", help="target column")
    backfill.add_argument("--contract", help="data contract YAML")
    backfill.add_argument("--preset", help="default, notebook or linear")
    backfill.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="override a setting"
    )
    backfill.add_argument(
        "--deployment", metavar="NAME", help="submit flow runs of this training deployment (such as nightly) instead"
    )
    add_home(backfill)


def run(args: argparse.Namespace) -> int:
    from regress_core.config import build_config
    from regress_core.data.window import backfill_dates
    from regress_core.pipeline.backfill import require_window

    if args.deployment:
        backfill_dates(args.start, args.end, every=args.every)  # refused before a server is reached
        return submit_runs(args)
    config = build_config(path=args.config, values=flag_values(args), overrides=args.overrides)
    dates = backfill_dates(args.start, args.end, every=args.every, timezone=config.data.timezone)
    require_window(config)
    from regress_cli.environment import quiet_expected_errors
    from regress_cli.prefect_api import prefect_api
    from regress_core.pipeline.preflight import preflight_training

    preflight_training(config)
    if not args.debug:
        quiet_expected_errors()
    with prefect_api(home=config.registry.home):
        return train_dates(config, dates)


def flag_values(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given as flags (--data, --target, --contract, --preset, --home), as for `regress train`."""
    values: dict[str, Any] = {}
    source = {"source": absolute(args.data), "target": args.target, "contract": absolute(args.contract)}
    if any(source.values()):
        values["data"] = {key: value for key, value in source.items() if value}
    if args.preset:
        values["preset"] = args.preset
    if args.home:
        values["registry"] = {"home": absolute_home(args.home)}
    return values


def train_dates(config: RegressConfig, dates: list[datetime]) -> int:
    """Train each date in order; print the table (also when interrupted); exit with the first failure's code."""
    from tqdm.auto import tqdm

    from regress_cli.render import print_backfill

    rows = []
    first_error: RegressError | None = None
    bar = tqdm(dates, desc="backfill", unit="run")
    try:
        for as_of in bar:
            bar.set_postfix_str(f"as of {as_of:%Y-%m-%d %H:%M}")
            row, error = train_date(config, as_of)
            rows.append(row)
            first_error = first_error or error
            raise_if_received()  # a Ctrl-C that Prefect dropped as the flow run ended
    except BaseException as exc:
        interrupt = interruption(exc)
        if interrupt is None:
            raise
        bar.close()
        print_backfill(rows, remaining=len(dates) - len(rows))
        if interrupt is exc:
            raise
        raise type(interrupt)() from exc  # Ctrl-C or SIGTERM, whatever error it became on the way
    bar.close()
    print_backfill(rows)
    return first_error.exit_code if first_error else 0


def train_date(config: RegressConfig, as_of: datetime) -> tuple[BackfillRow, RegressError | None]:
    """One date: skipped when done, else trained by the training flow; a user-facing error is kept in its row."""
    from flows.training import training
    from regress_core.errors import RegressError
    from regress_core.pipeline.backfill import BackfillRow, describe_decision, find_done
    from regress_core.pipeline.freshness import NothingNew
    from regress_core.pipeline.preload import preload_model_stages
    from regress_core.pipeline.workspace import Workspace

    preload_model_stages()  # once: torch and scikit-learn, while the first date's run starts
    try:
        raw, done = find_done(config, as_of, Workspace.at(config.registry.home))
        if done is not None:
            return BackfillRow(as_of, raw.rows, done, "already trained"), None
        outcome = training(config=config, as_of=as_of)
    except RegressError as exc:
        return BackfillRow(as_of, None, None, f"error: {exc}", failed=True), exc
    if isinstance(outcome, NothingNew):
        return BackfillRow(as_of, outcome.rows, outcome.version, "nothing new"), None
    rows = outcome.window["rows"] if outcome.window else None
    return BackfillRow(as_of, rows, outcome.version, describe_decision(outcome.decision)), None


def submit_runs(args: argparse.Namespace) -> int:
    """Submit one flow run of the deployment per date, keyed so that a repeat finds the runs already there."""
    import asyncio

    from regress_cli.prefect_api import prefect_api
    from regress_cli.render import print_submitted

    with prefect_api(home=absolute_home(args.home)) as api_url:
        print_submitted(asyncio.run(submit_backfill(args, api_url)))
    return 0


async def submit_backfill(args: argparse.Namespace, api_url: str) -> list[dict[str, Any]]:
    """Create the deployment's flow runs, one per date; each row says whether its run was new."""
    from datetime import UTC

    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    from regress_core.config import build_config
    from regress_core.config.presets import deep_merge
    from regress_core.data.window import backfill_dates
    from regress_core.errors import ConfigError
    from regress_core.pipeline.backfill import backfill_key, require_window
    from regress_core.pipeline.preflight import expected_model_name

    name = args.deployment if "/" in args.deployment else f"training/{args.deployment}"
    values = flag_values(args)
    given = bool(args.config or args.overrides or values)
    async with get_client() as client:
        try:
            deployment = await client.read_deployment_by_name(name)
        except ObjectNotFound:
            raise ConfigError(
                f"--deployment: no deployment {name} on the Prefect server at {api_url}: deploy it first "
                "(regress ui start deploys prefect.yaml), or set PREFECT_API_URL to the server that has it"
            ) from None
        # The deployment's configuration, unless a file replaces it; flags and --set change either.
        base = {} if args.config else (deployment.parameters.get("config") or {})
        config = build_config(path=args.config, values=deep_merge(base, values), overrides=args.overrides)
        require_window(config)
        dates = backfill_dates(args.start, args.end, every=args.every, timezone=config.data.timezone)
        model = expected_model_name(config)
        started = datetime.now(UTC)
        rows = []
        for as_of in dates:
            parameters: dict[str, Any] = {"as_of": as_of.isoformat()}
            if given:
                parameters["config"] = config.model_dump(mode="json")
            run = await client.create_flow_run_from_deployment(
                deployment.id, parameters=parameters, idempotency_key=backfill_key(model, as_of)
            )
            new = run.created is None or run.created >= started
            rows.append({"as_of": as_of, "run": run.name, "id": str(run.id), "new": new})
    return rows
