"""`regress data simulate`: days of arriving rows, as dated partitions or an SQLite table."""

from __future__ import annotations

import argparse
from typing import Any

from regress_cli.paths import absolute_home, add_home


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    data = commands.add_parser("data", help="example data", parents=[common])
    data_commands = data.add_subparsers(dest="data_command", required=True)
    simulate = data_commands.add_parser(
        "simulate",
        help="write days of California rows with a time column (ts), as dated partitions or an SQLite table",
        parents=[common],
    )
    simulate.add_argument("--start", metavar="DATE", help="first day (default: the days end today, UTC)")
    simulate.add_argument("--days", type=int, default=60, help="consecutive days (default 60)")
    simulate.add_argument(
        "--to", required=True, metavar="DIR|URL", help="a folder (DIR/dt=YYYY-MM-DD/part.parquet) or sqlite:///file.db"
    )
    simulate.add_argument("--table", default="sales", help="table of an SQLite database (default sales)")
    simulate.add_argument("--rows-per-day", type=int, help="rows a day (default: the bundled rows shared out)")
    simulate.add_argument(
        "--drift", type=float, default=0.0, help="0.0 to 1.0: how far features and target move by the last day"
    )
    simulate.add_argument("--seed", type=int, default=0, help="seed of the rows' order and times")
    add_home(simulate)


def run(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime, timedelta

    from regress_core.data.simulate import Simulation, sqlite_path, write_partitions, write_sqlite_table
    from regress_core.data.window import parse_instant
    from regress_core.errors import ConfigError
    from regress_core.pipeline.off_limits import refuse_managed_output
    from regress_core.pipeline.workspace import Workspace

    if args.start is None:
        start = datetime.now(UTC).date() - timedelta(days=max(args.days, 1) - 1)
    else:
        try:
            start = parse_instant(args.start).date()
        except ConfigError as exc:
            raise ConfigError(f"--start: {exc}") from exc
    simulation = Simulation(start, args.days, rows_per_day=args.rows_per_day, drift=args.drift, seed=args.seed)
    to_database = "://" in args.to
    target = sqlite_path(args.to) if to_database else args.to
    refuse_managed_output(target, Workspace.at(absolute_home(args.home)), option="--to")
    span = f"{simulation.start} to {simulation.end}"
    if to_database:
        rows = write_sqlite_table(simulation, args.to, table=args.table)
        print(f"wrote {rows} rows of {span} to table {args.table} of {args.to} (time column ts)")
    else:
        files = write_partitions(simulation, args.to)
        print(f"wrote {len(files)} partitions of {span} to {args.to}/dt=YYYY-MM-DD/part.parquet (time column ts)")
    return 0
