"""Where training tables come from, one module per kind of source, all behind one protocol (`Source`).

`open_source` turns what a person wrote (`--data`, `data.source`) into a source: the bundled
dataset and the tutorials' synthetic sets (`bundled`), and CSV or Parquet files by path or
URL (`files`), dated partitions read for a window's days (`partitions`), and a table or query of
an SQL database (`sql`). `windowed` cuts any of them to a time window.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd

from regress_core.data.contract import DataContract
from regress_core.data.sources.base import Source, frame_batches, read_source
from regress_core.data.sources.bundled import (
    BUNDLED,
    DATA_DIR,
    SKLEARN_PREFIX,
    SYNTHETIC,
    BundledSource,
    SklearnSource,
    SyntheticSource,
    bundled_path,
    make_synthetic,
    synthetic_contract,
)
from regress_core.data.sources.files import FileSource
from regress_core.data.sources.partitions import PartitionSource, dated_name, is_dated, partition_days
from regress_core.data.sources.sql import SqlSource, sql_source_name
from regress_core.data.sources.windowed import WindowedSource, read_window
from regress_core.data.sql import is_sql_url
from regress_core.data.window import Window
from regress_core.errors import ConfigError

__all__ = [
    "BUNDLED",
    "DATA_DIR",
    "SYNTHETIC",
    "BundledSource",
    "FileSource",
    "PartitionSource",
    "SklearnSource",
    "Source",
    "SqlSource",
    "SyntheticSource",
    "WindowedSource",
    "bundled_path",
    "default_contract",
    "frame_batches",
    "is_dated",
    "load_source",
    "make_synthetic",
    "open_source",
    "read_source",
    "read_window",
    "source_kind",
    "source_name",
    "synthetic_contract",
]


def source_kind(source: str) -> str:
    """Classify a source string: bundled, synthetic, sklearn, sql (a database URL) or file."""
    if is_sql_url(source):
        return "sql"
    if source in BUNDLED:
        return "bundled"
    if source in SYNTHETIC:
        return "synthetic"
    if source.startswith(SKLEARN_PREFIX):
        return "sklearn"
    return "file"


def source_name(location: str, table: str | None = None) -> str:
    """A name for a source's data: a file's stem, the folder above dated partitions, a database's table or file."""
    if is_sql_url(location):
        return sql_source_name(location, table)
    return dated_name(location) if is_dated(location) else Path(location).stem


def open_source(
    location: str,
    *,
    n_rows: int = 100,
    noise: float = 1.0,
    seed: int = 0,
    window: Window | None = None,
    as_of: datetime | None = None,
    table: str | None = None,
    query: str | None = None,
    time_column: str | None = None,
) -> Source:
    """The source a person named; `n_rows`, `noise` and `seed` shape a synthetic set.

    A dated source (`{date}` or `{as_of}` in its path) is read for the days of `window` (or the
    day of `as_of`) only; it needs both. A database URL reads `table` (its rows in `window` by
    `time_column`, filtered by the database) or runs `query` with the window's `:start` and `:end`.

    Raises:
        ConfigError: a dated source without a window and an as_of; a database without a table or query.
    """
    if is_sql_url(location):
        return SqlSource(location, table=table, query=query, time_column=time_column, window=window)
    if is_dated(location):
        if window is None or as_of is None:
            raise ConfigError(f"source {location} is dated: give data.time_column and data.window")
        return PartitionSource(location, tuple(partition_days(location, window, as_of)))
    kind = source_kind(location)
    if kind == "bundled":
        return BundledSource(location)
    if kind == "synthetic":
        return SyntheticSource(location, n_rows=n_rows, noise=noise, seed=seed)
    if kind == "sklearn":
        return SklearnSource(location)
    return FileSource(location)


def default_contract(location: str) -> DataContract | None:
    """The contract a bundled or synthetic source ships with; None for other sources."""
    return None if is_dated(location) or is_sql_url(location) else open_source(location).contract()


def load_source(location: str, *, n_rows: int = 100, noise: float = 1.0, seed: int = 0) -> pd.DataFrame:
    """A training table from any supported source, as a frame."""
    return read_source(open_source(location, n_rows=n_rows, noise=noise, seed=seed)).to_pandas()
