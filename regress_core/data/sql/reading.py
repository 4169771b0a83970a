"""Rows out of a database as Arrow, by the fastest driver installed.

PostgreSQL is read with ADBC (`adbc-driver-postgresql`, libpq's binary COPY straight into Arrow
buffers), the fastest of the readers measured in benchmarks/sql_read.py; without it, through
SQLAlchemy and psycopg with pandas. SQLite is read through SQLAlchemy and Python's sqlite3, whose
per-value types suit SQLite's loose columns better than ADBC's per-batch inference. Queries take
named bind parameters (`:start`); a password comes from `database_password`, so a URL never
carries one, and every failure is one line (see `database_error`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import closing
from datetime import datetime
from importlib.util import find_spec
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import create_engine, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from regress_core.data.sql.failures import database_error
from regress_core.data.sql.urls import database_password, parse_sql_url
from regress_core.data.window import zone
from regress_core.errors import ConfigError

TIMEOUT_ENV = "REGRESS_DB_TIMEOUT_S"
DEFAULT_TIMEOUT_S = 1800.0
CONNECT_TIMEOUT_S = 10
BATCH_ROWS = 65_536


def query_timeout() -> float:
    """The longest a query may run, in seconds: `$REGRESS_DB_TIMEOUT_S`, else 30 minutes."""
    raw = os.environ.get(TIMEOUT_ENV, "")
    try:
        value = float(raw) if raw.strip() else DEFAULT_TIMEOUT_S
    except ValueError:
        raise ConfigError(f"{TIMEOUT_ENV}={raw!r} is not a number of seconds") from None
    if not value > 0 or value == float("inf"):
        raise ConfigError(f"{TIMEOUT_ENV}={raw!r} must be a positive, finite number of seconds")
    return value


def engine_name(url: URL) -> str:
    """`adbc` for PostgreSQL when its ADBC driver is installed, else `sqlalchemy`."""
    if url.get_backend_name() == "postgresql" and find_spec("adbc_driver_postgresql") is not None:
        return "adbc"
    return "sqlalchemy"


def bind_time(url: URL, instant: datetime, timezone: str) -> datetime | str:
    """A window bound as the database compares it with a time column.

    PostgreSQL gets the instant itself (the session's TimeZone reads naive columns in `timezone`);
    SQLite, which keeps times as text, gets `YYYY-MM-DD HH:MM:SS` in `timezone`, which orders
    correctly against that text and against ISO text with a `T`.
    """
    if url.get_backend_name() == "sqlite":
        return instant.astimezone(zone(timezone)).strftime("%Y-%m-%d %H:%M:%S")
    return instant


def bind_names(sql: str) -> list[str]:
    """The named parameters (`:start`) a query takes, in order of first use."""
    compiled = text(sql).compile(dialect=postgresql.dialect(paramstyle="numeric_dollar"))
    return list(dict.fromkeys(compiled.positiontup or []))


def iter_arrow_batches(
    location: str,
    sql: str,
    params: Mapping[str, Any] | None = None,
    *,
    password: str | None = None,
    timezone: str = "UTC",
    engine: str | None = None,
) -> Iterator[pa.RecordBatch]:
    """The rows of a query as Arrow record batches, streamed where the driver streams.

    Args:
        location: The database URL (no password in it).
        sql: The query, with named parameters such as `:start`.
        params: Their values.
        password: The password; default `database_password()`.
        timezone: The session's timezone (PostgreSQL), in which naive time columns are read.
        engine: `adbc` or `sqlalchemy`; default the fastest installed (see `engine_name`).

    Raises:
        ConfigError, ServiceError: one line naming what failed, never the password.
    """
    url = parse_sql_url(location)
    timeout_s = query_timeout()
    secret = database_password(password)
    failures: tuple[type[BaseException], ...] = (SQLAlchemyError, OSError, *driver_errors())
    try:
        if (engine or engine_name(url)) == "adbc":
            yield from _adbc_batches(url, sql, dict(params or {}), secret, timezone, timeout_s)
        else:
            yield from _sqlalchemy_batches(url, sql, dict(params or {}), secret, timezone, timeout_s)
    except failures as exc:
        # Not chained: a driver's own exception may quote the connection string, password included.
        raise database_error(exc, url, timeout_s=timeout_s) from None


def read_arrow(
    location: str,
    sql: str,
    params: Mapping[str, Any] | None = None,
    *,
    password: str | None = None,
    timezone: str = "UTC",
    engine: str | None = None,
) -> pa.Table:
    """The rows of a query as one Arrow table (see `iter_arrow_batches`)."""
    batches = list(iter_arrow_batches(location, sql, params, password=password, timezone=timezone, engine=engine))
    if not batches:
        return pa.table({})
    return pa.Table.from_batches(batches)


def check_connection(location: str, *, password: str | None = None) -> None:
    """Connect to the database and run `SELECT 1`.

    Raises:
        ConfigError, ServiceError: the URL is wrong, the server cannot be reached or refuses the login.
    """
    for _ in iter_arrow_batches(location, "SELECT 1 AS ok", password=password):
        pass


def driver_errors() -> tuple[type[BaseException], ...]:
    """The exception classes of the installed database drivers."""
    errors: list[type[BaseException]] = []
    if find_spec("adbc_driver_manager") is not None:
        import adbc_driver_manager

        errors.append(adbc_driver_manager.Error)
    import sqlite3

    errors.append(sqlite3.Error)
    return tuple(errors)


def _server_options(timezone: str, timeout_s: float) -> str:
    return f"-c statement_timeout={int(timeout_s * 1000)} -c TimeZone={zone(timezone).key}"


def _adbc_batches(
    url: URL, sql: str, params: dict[str, Any], password: str | None, timezone: str, timeout_s: float
) -> Iterator[pa.RecordBatch]:
    import adbc_driver_postgresql.dbapi as adbc

    compiled = text(sql).compile(dialect=postgresql.dialect(paramstyle="numeric_dollar"))
    names = compiled.positiontup or []
    query = {**url.query, "connect_timeout": str(CONNECT_TIMEOUT_S), "options": _server_options(timezone, timeout_s)}
    # libpq reads `+` in a URI as itself, not as a space: quote the options with %20.
    base = url.set(drivername="postgresql", password=password, query={}).render_as_string(hide_password=False)
    uri = f"{base}?{urlencode(query, doseq=True, quote_via=quote)}"
    with adbc.connect(uri) as connection, closing(connection.cursor()) as cursor:
        cursor.execute(compiled.string, tuple(params[name] for name in names) if names else None)
        reader = cursor.fetch_record_batch()
        for batch in reader:
            yield normalize_batch(batch)


def sql_engine(
    url: URL, *, password: str | None = None, timezone: str = "UTC", timeout_s: float | None = None
) -> Engine:
    """An SQLAlchemy engine for the database (psycopg for PostgreSQL), with no pool and time limits set.

    Args:
        url: The parsed URL (see `parse_sql_url`).
        password: The password; default `database_password()`.
        timezone: The session's timezone (PostgreSQL).
        timeout_s: The longest a statement may run; default `query_timeout()`.
    """
    if url.get_backend_name() == "sqlite":
        return create_engine(url, poolclass=NullPool)
    limit = query_timeout() if timeout_s is None else timeout_s
    args = {"connect_timeout": CONNECT_TIMEOUT_S, "options": _server_options(timezone, limit)}
    with_password = url.set(drivername="postgresql+psycopg", password=database_password(password))
    return create_engine(with_password, poolclass=NullPool, connect_args=args)


def _sqlalchemy_batches(
    url: URL, sql: str, params: dict[str, Any], password: str | None, timezone: str, timeout_s: float
) -> Iterator[pa.RecordBatch]:
    if url.get_backend_name() == "sqlite" and not Path(str(url.database)).is_file():
        raise ConfigError(f"no SQLite database file {url.database}")
    engine = sql_engine(url, password=password, timezone=timezone, timeout_s=timeout_s)
    try:
        with engine.connect() as connection:
            df = pd.read_sql(text(sql), connection, params=params)
    finally:
        engine.dispose()
    table = pa.Table.from_pandas(df, preserve_index=False)
    for batch in table.to_batches(max_chunksize=BATCH_ROWS):
        yield normalize_batch(batch)


def normalize_batch(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Drop the drivers' metadata, and read exact decimals (PostgreSQL `numeric`) as floats."""
    columns, fields = [], []
    for field, column in zip(batch.schema, batch.columns, strict=True):
        numeric = (field.metadata or {}).get(b"POSTGRESQL:type") == b"numeric"
        if pa.types.is_decimal(field.type) or (numeric and pa.types.is_string(field.type)):
            column = pc.cast(column, pa.float64())
        columns.append(column)
        fields.append(pa.field(field.name, column.type, field.nullable))
    return pa.RecordBatch.from_arrays(columns, schema=pa.schema(fields))
