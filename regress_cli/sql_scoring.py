"""`regress score` from and into a database: `--input URL --query SQL` and `--output URL --table NAME`.

The query's rows for the day are written to a Parquet file in a temporary folder, which the
scoring flow scores like any input (contract checks, drift, the ledger's input hash); the
predictions go to a Parquet file there too, and then replace that day's rows of the table in one
transaction. The temporary folder is removed afterwards, whatever happens.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path


def uses_sql(args: argparse.Namespace) -> bool:
    """Whether the command reads from or writes into a database."""
    from regress_core.data.sql import is_sql_url

    return is_sql_url(args.input) or is_sql_url(args.output)


def run_with_sql(args: argparse.Namespace, run: Callable[[argparse.Namespace], int]) -> int:
    """Run `regress score` (`run`) with a database input or output swapped for temporary Parquet files.

    Raises:
        ConfigError: `--query` or `--table` missing or given without a database, or a backfill.
    """
    import pandas as pd

    from regress_core.data.sql import is_sql_url, parse_sql_url, shown_url
    from regress_core.errors import DataError
    from regress_core.scoring.dated import scoring_day
    from regress_core.scoring.sql_io import save_sql_input, write_sql_predictions

    sql_in, sql_out = is_sql_url(args.input), is_sql_url(args.output)
    check_flags(args, sql_in=sql_in, sql_out=sql_out)
    day = scoring_day(args.as_of or datetime.now(UTC))
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
    with tempfile.TemporaryDirectory(prefix="regress-sql-scoring-") as folder:
        local = argparse.Namespace(**vars(args))
        local.as_of = day.isoformat()
        if sql_in:
            parse_sql_url(args.input)
            local.input = str(Path(folder) / "input.parquet")
            if save_sql_input(args.input, args.query, midnight, Path(local.input)) == 0:
                message = f"no rows for {day.isoformat()} from the query to {shown_url(args.input)}"
                if args.if_missing == "skip":
                    print(f"{message}: nothing to score (--if-missing skip)")
                    return 0
                raise DataError(f"{message}: its input has not arrived (--if-missing skip exits 0)")
        if sql_out:
            parse_sql_url(args.output)
            local.output = str(Path(folder) / "predictions.parquet")
        code = run(local)
        if code == 0 and sql_out and Path(local.output).is_file():
            rows = write_sql_predictions(args.output, args.table, pd.read_parquet(local.output), day.isoformat())
            print(f"wrote {rows} predictions for {day.isoformat()} to table {args.table} of {shown_url(args.output)}")
        return code


def check_flags(args: argparse.Namespace, *, sql_in: bool, sql_out: bool) -> None:
    """Refuse `--query`/`--table` without a database, a database without them, and a database backfill."""
    from regress_core.errors import ConfigError

    if sql_in != bool(args.query):
        raise ConfigError("--query goes with an --input database URL" if args.query else "--input URL needs --query")
    if sql_out != bool(args.table):
        raise ConfigError("--table goes with an --output database URL" if args.table else "--output URL needs --table")
    if args.start or args.end:
        raise ConfigError("a backfill (--start/--end) from or into a database is not supported: run one --as-of a day")
    if args.skip_scored and sql_out:
        raise ConfigError("--skip-scored keeps its ledger by output file: it does not apply to an --output database")
