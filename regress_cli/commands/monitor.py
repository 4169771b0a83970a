"""`regress monitor`: dated predictions joined to the actuals that have arrived, error by day."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

from regress_cli.paths import absolute, absolute_home, add_home


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    from regress_core.config.sections import MonitorConfig

    defaults = {name: field.default for name, field in MonitorConfig.model_fields.items()}
    monitor = commands.add_parser(
        "monitor",
        help="join dated predictions to the actuals that arrived; error by day against the version's test error",
        parents=[common],
    )
    monitor.add_argument(
        "--predictions",
        required=True,
        help="predictions path or URL with {date}, e.g. 'predictions/dt={date}/*.parquet'",
    )
    monitor.add_argument(
        "--actuals", required=True, help="true values: a path or URL with {date}, or one file holding them all"
    )
    monitor.add_argument(
        "--key",
        required=True,
        metavar="COLUMN",
        help="column that names a row on both sides; several: ts,Latitude,Longitude",
    )
    monitor.add_argument("--target", metavar="COLUMN", help="the actuals' column of true values (default: the model's)")
    monitor.add_argument(
        "--window", default=defaults["window"], help="whole days ending with the as_of day (default %(default)s)"
    )
    monitor.add_argument("--as-of", help="last day measured: a date or ISO time (default: now)")
    monitor.add_argument(
        "--model",
        default=defaults["model"],
        help="reference model (NAME, NAME@v0003) when the predictions carry no model_version column",
    )
    monitor.add_argument(
        "--tolerance",
        type=float,
        default=defaults["tolerance"],
        help="warn and emit an event when the RMSE is this fraction above the test RMSE (default %(default)s)",
    )
    monitor.add_argument("--timezone", default=defaults["timezone"], help="IANA timezone of the days (default UTC)")
    monitor.add_argument("--json", action="store_true", help="machine-readable output")
    add_home(monitor)


def run(args: argparse.Namespace) -> int:
    from regress_core.config import format_validation_error
    from regress_core.config.sections import MonitorConfig
    from regress_core.data.window import parse_instant
    from regress_core.errors import ConfigError

    values = {
        "predictions": absolute(args.predictions),
        "actuals": absolute(args.actuals),
        "key": args.key,
        "target": args.target,
        "window": args.window,
        "model": args.model,
        "tolerance": args.tolerance,
        "timezone": args.timezone,
        "home": absolute_home(args.home),
    }
    from pydantic import ValidationError

    try:
        monitor = MonitorConfig.model_validate(values)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc)) from exc
    as_of = parse_instant(args.as_of, timezone=monitor.timezone) if args.as_of else datetime.now(UTC)
    from flows.monitoring import monitoring
    from regress_cli.environment import quiet_expected_errors
    from regress_cli.prefect_api import prefect_api

    if not args.debug:
        quiet_expected_errors()
    with prefect_api():
        report = monitoring(monitor=monitor, as_of=as_of)
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
        for line in report.warnings():
            print(f"regress: warning: {line}", file=sys.stderr)
    else:
        print_report(report)
    return 0


def print_report(report: Any) -> None:
    """A table of the days (interval coverage and width too, where predictions carry intervals) and the verdict."""
    reference = report.reference
    intervals = report.whole.coverage is not None
    print()
    print(
        f"{'date':<12}{'rows':>8}{'waiting':>9}{'RMSE':>10}{'MAE':>10}{'R2':>9}"
        + (f"{'coverage':>10}{'width':>10}" if intervals else "")
    )
    for day in report.days:
        print(f"{day.date.isoformat():<12}{day.rows:>8}{day.waiting:>9}" + _figures(day, intervals))
    whole = report.whole
    print(f"{'window':<12}{whole.rows:>8}{report.waiting:>9}" + _figures(whole, intervals))
    print()
    print(f"{reference.model}@{reference.version}: test RMSE {reference.test_rmse:.4f}; window {report.change:+.1%}")
    for line in report.warnings():
        print(f"warning: {line}")
    if not report.degraded:
        print(f"within tolerance ({report.tolerance:.0%})")


def _figures(day: Any, intervals: bool) -> str:
    """A row's error figures, then its interval coverage and mean width when the table shows them."""
    text = f"{_figure(day.rmse):>10}{_figure(day.mae):>10}{_figure(day.r2):>9}"
    if intervals:
        coverage = "-" if day.coverage is None or day.coverage != day.coverage else f"{day.coverage:.1%}"
        text += f"{coverage:>10}{_figure(day.mean_width if day.mean_width is not None else float('nan')):>10}"
    return text


def _figure(value: float) -> str:
    return "-" if value != value else f"{value:.4f}"  # NaN: no actual has arrived that day
