"""Scoring from and into SQL databases: a query's rows in, a day's predictions out.

`read_sql_batches` runs a query (which may take `:as_of`) and yields its rows as Arrow batches;
`save_sql_input` writes them to a Parquet file that file-based scoring reads.
`write_sql_predictions` replaces one `as_of`'s rows of a predictions table: it deletes them and
inserts the new ones in one transaction, so a rerun leaves each day's rows once, and a failure
leaves the old ones. A table that exists with other columns is refused, never altered.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import MetaData, Table, inspect
from sqlalchemy.exc import SQLAlchemyError

from regress_core.config import INTERVAL_COLUMNS
from regress_core.data.sql import (
    bind_names,
    bind_time,
    database_error,
    iter_arrow_batches,
    parse_sql_url,
    shown_url,
    sql_engine,
)
from regress_core.errors import ConfigError

AS_OF_COLUMN = "as_of"


def read_sql_batches(
    url: str, query: str, params: Mapping[str, Any] | None = None, password: str | None = None
) -> Iterator[pa.RecordBatch]:
    """The rows of `query` as Arrow record batches.

    Args:
        url: The database URL (no password in it).
        query: The query, with named parameters such as `:as_of`.
        params: Their values; a datetime is bound as the database compares times (see `bind_time`).
        password: The password; default `REGRESS_DB_PASSWORD` or one handed in from a Secret block.

    Raises:
        ConfigError, ServiceError: one line naming what failed, never the password.
    """
    parsed = parse_sql_url(url)
    bound = {
        name: bind_time(parsed, value, "UTC") if isinstance(value, datetime) else value
        for name, value in (params or {}).items()
    }
    yield from iter_arrow_batches(url, query, bound, password=password)


def save_sql_input(url: str, query: str, as_of: datetime, path: Path, password: str | None = None) -> int:
    """Write the rows of `query` for the day `as_of` to a Parquet file, batch by batch; return the rows.

    The query may take `:as_of`, bound to the day's instant (its midnight, UTC).

    Raises:
        ConfigError: the query takes a parameter other than `:as_of`, or the database refused it.
        ServiceError: the database cannot be reached or refused the login.
    """
    names = bind_names(query)
    unknown = [name for name in names if name != AS_OF_COLUMN]
    if unknown:
        taken = ", ".join(f":{name}" for name in unknown)
        raise ConfigError(f"--query takes {taken}; regress binds only :as_of (the day scored)")
    rows = 0
    writer: pq.ParquetWriter | None = None
    try:
        for batch in read_sql_batches(url, query, {AS_OF_COLUMN: as_of} if names else None, password):
            writer = writer or pq.ParquetWriter(path, batch.schema)
            writer.write_batch(batch)
            rows += batch.num_rows
    finally:
        if writer is not None:
            writer.close()
    return rows


def as_of_text(as_of: datetime | str) -> str:
    """How a day's predictions are marked in the table: the as_of as ISO text."""
    return as_of.isoformat() if isinstance(as_of, datetime) else str(as_of)


def write_sql_predictions(
    url: str, table: str, frame: pd.DataFrame, as_of: datetime | str, password: str | None = None
) -> int:
    """Replace the rows of `as_of` in `table` with `frame`'s, in one transaction; create the table if needed.

    Args:
        url: The database URL (no password in it).
        table: The predictions table (`schema.table` allowed).
        frame: The predictions; an `as_of` column is set to `as_of` (as ISO text).
        as_of: The day (or instant) these predictions are for.
        password: As for `read_sql_batches`.

    Returns:
        The number of rows written.

    Raises:
        ConfigError: the table exists with other columns, or the database refused the statements.
        ServiceError: the database cannot be reached or refused the login.
    """
    parsed = parse_sql_url(url)
    schema, _, name = table.rpartition(".")
    rows = frame.assign(**{AS_OF_COLUMN: as_of_text(as_of)})
    engine = sql_engine(parsed, password=password)
    try:
        with engine.begin() as connection:
            if inspect(connection).has_table(name, schema=schema or None):
                existing = Table(name, MetaData(), schema=schema or None, autoload_with=connection)
                check_columns(url, table, [column.name for column in existing.columns], list(rows.columns))
                connection.execute(existing.delete().where(existing.c[AS_OF_COLUMN] == as_of_text(as_of)))
            rows.to_sql(name, connection, schema=schema or None, if_exists="append", index=False, chunksize=10_000)
    except (SQLAlchemyError, pd.errors.DatabaseError) as exc:
        raise database_error(exc, parsed) from None
    finally:
        engine.dispose()
    return len(rows)


def check_columns(url: str, table: str, existing: list[str], wanted: list[str]) -> None:
    """Refuse to write predictions into a table whose columns are not theirs.

    Raises:
        ConfigError: naming the columns that differ.
    """
    missing = [name for name in wanted if name not in existing]
    extra = [name for name in existing if name not in wanted]
    if not missing and not extra:
        return
    words = [f"lacks {', '.join(missing)}"] if missing else []
    words += [f"has {', '.join(extra)} that the predictions do not"] if extra else []
    hint = " (--interval adds lower and upper)" if set(missing + extra) & set(INTERVAL_COLUMNS) else ""
    raise ConfigError(
        f"table {table} in {shown_url(url)} has another schema: it {' and '.join(words)}{hint}; "
        "write to another --table or drop that one"
    )
