"""A table or a query of an SQL database (SQLite, PostgreSQL), read for a window's rows only.

With `data.table` the window's predicate `time_column >= :start AND time_column < :end` is sent
to the database, so only the window's rows cross the wire; with `data.query` the query itself
takes `:start` and `:end`. Rows arrive as Arrow. A database has no file whose hash names its
content, so the fingerprint is the hash of the rows read: a rerun on unchanged rows gets the
same cache key, and one on changed rows a new one. The rows are read once per source object
and both hashed and handed on from that one read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from regress_core.data.contract import DataContract
from regress_core.data.sql.urls import parse_sql_url, shown_url  # sqlalchemy itself only once a database is read
from regress_core.data.window import Window
from regress_core.errors import ConfigError, DataError

WINDOW_PARAMS = ("start", "end")


def quote_table(location: str, table: str) -> str:
    """A table name, optionally `schema.table`, quoted for the database of `location`."""
    preparer = parse_sql_url(location).get_dialect()().identifier_preparer
    return ".".join(preparer.quote_identifier(part) for part in table.split("."))


def table_query(location: str, table: str, time_column: str | None, window: Window | None) -> str:
    """`SELECT *` from a table, with the window's predicate when there is a window."""
    sql = f"SELECT * FROM {quote_table(location, table)}"  # names quoted by the dialect; values are bound
    if window is None or time_column is None:
        return sql
    column = parse_sql_url(location).get_dialect()().identifier_preparer.quote_identifier(time_column)
    return f"{sql} WHERE {column} >= :start AND {column} < :end"


def hash_table(table: pa.Table) -> str:
    """SHA-256 of a table's schema and rows, as Arrow's IPC stream writes them."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table.combine_chunks())
    return hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()


@dataclass(frozen=True)
class SqlSource:
    """Rows of a database table or query; their contract is given or inferred.

    Attributes:
        location: The database URL, with no password in it.
        table: A table to read (`schema.table` allowed); or
        query: A query to run, which may take `:start` and `:end`.
        time_column: The column the window's predicate is on (with `table`).
        window: The window to read; None reads every row.
    """

    location: str
    table: str | None = None
    query: str | None = None
    time_column: str | None = None
    window: Window | None = None
    rows: list[pa.Table] = field(default_factory=list, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        parse_sql_url(self.location)
        if (self.table is None) == (self.query is None):
            raise ConfigError(f"source {shown_url(self.location)} is a database: give data.table or data.query")

    def sql(self) -> str:
        """The query sent to the database."""
        if self.table is not None:
            return table_query(self.location, self.table, self.time_column, self.window)
        return str(self.query)

    def params(self) -> dict[str, Any]:
        """The values of the query's bind parameters: the window's start and end.

        Raises:
            ConfigError: the query takes other parameters, or takes `:start`/`:end` without a window.
        """
        from regress_core.data.sql.reading import bind_names, bind_time

        names = bind_names(self.sql())
        unknown = [name for name in names if name not in WINDOW_PARAMS]
        if unknown:
            taken = ", ".join(f":{name}" for name in unknown)
            raise ConfigError(f"data.query takes {taken}; regress binds only :start and :end (the window's bounds)")
        if not names:
            return {}
        if self.window is None:
            raise ConfigError("data.query takes :start and :end: give data.time_column and data.window")
        url = parse_sql_url(self.location)
        bounds = {"start": self.window.start, "end": self.window.end}
        return {name: bind_time(url, bounds[name], self.window.timezone) for name in names}

    def read(self) -> pa.Table:
        """The rows, read from the database on the first call only."""
        if not self.rows:
            timezone = self.window.timezone if self.window else "UTC"
            from regress_core.data.sql.reading import read_arrow

            table = read_arrow(self.location, self.sql(), self.params(), timezone=timezone)
            if table.num_rows == 0:
                where = f" in the window {self.window.describe()}" if self.window else ""
                raise DataError(f"no rows of {shown_url(self.location)}{where}: nothing to train on")
            self.rows.append(table)
        return self.rows[0]

    def fingerprint(self) -> str:
        """The database, the query, its parameters and the hash of the rows it returned."""
        params = {name: str(value) for name, value in self.params().items()}
        return f"{shown_url(self.location)}\n{self.sql()}\n{params}\nrows {hash_table(self.read())}"

    def contract(self) -> DataContract | None:
        return None

    def batches(self) -> Iterator[pa.RecordBatch]:
        yield from self.read().to_batches()


def sql_source_name(location: str, table: str | None = None) -> str:
    """A name for a database's data: its table's, else the database's (`sales` for sqlite:///sales.db)."""
    if table:
        return table.rsplit(".", 1)[-1]
    database = str(parse_sql_url(location).database or "database")
    return database.rsplit("/", 1)[-1].split(".", 1)[0] or "database"
