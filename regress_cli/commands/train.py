"""`regress train`: build the configuration from flags and run the training flow."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from regress_cli.paths import absolute, absolute_home, add_home


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    train = commands.add_parser("train", help="run the training flow", parents=[common])
    train.add_argument("--config", help="YAML or JSON configuration file")
    train.add_argument("--data", help="source: california_housing, linear, parabola, a CSV/Parquet path or URL")
    train.add_argument("--target", help="target column")
    train.add_argument("--contract", help="data contract YAML")
    train.add_argument("--preset", help="default, notebook or linear")
    train.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a setting, e.g. train.lr=0.01",
    )
    train.add_argument("--refresh-cache", action="store_true", help="recompute every stage")
    train.add_argument(
        "--as-of",
        metavar="WHEN",
        help="the run's date or ISO date-time (default: now); a time window (data.window) ends here",
    )
    train.add_argument(
        "--force", action="store_true", help="train even when the window holds the rows the champion was trained on"
    )
    add_home(train)


def run(args: argparse.Namespace) -> int:
    from regress_core.config import build_config

    values: dict[str, Any] = {}
    source = {"source": absolute(args.data), "target": args.target, "contract": absolute(args.contract)}
    data = {key: value for key, value in source.items() if value}
    if data:
        values["data"] = data
    if args.preset:
        values["preset"] = args.preset
    if args.home:
        values["registry"] = {"home": absolute_home(args.home)}
    config = build_config(path=args.config, values=values, overrides=args.overrides)
    from regress_core.pipeline.preflight import preflight_training

    as_of = parse_as_of(args.as_of, timezone=config.data.timezone)
    preflight_training(config)  # before a Prefect server is started or reached
    from regress_cli.prefect_api import check_configured_api, prefect_api

    check_configured_api()  # a server that refuses this client ends the command before the flow's slow imports
    from flows.training import training
    from regress_cli.environment import quiet_expected_errors
    from regress_cli.render import print_nothing_new, print_training_outcome
    from regress_core.pipeline.freshness import NothingNew
    from regress_core.pipeline.preload import preload_model_stages

    if not args.debug:
        quiet_expected_errors()
    preload_model_stages()  # torch and scikit-learn, while the run starts and its data is validated
    with prefect_api(home=config.registry.home):
        outcome = training(config=config, refresh_cache=args.refresh_cache, as_of=as_of, force=args.force)
    if isinstance(outcome, NothingNew):
        print_nothing_new(outcome)
    else:
        print_training_outcome(outcome)
    return 0


def parse_as_of(text: str | None, *, timezone: str) -> datetime | None:
    """`--as-of` as an instant in UTC (a date is its midnight in the data's timezone); None when not given."""
    from regress_core.data.window import parse_instant
    from regress_core.errors import ConfigError

    if text is None:
        return None
    try:
        return parse_instant(text, timezone=timezone)
    except ConfigError as exc:
        raise ConfigError(f"--as-of: {exc}") from exc
