"""The predictions and actuals of a window's days, read one day's name at a time."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from fsspec.core import url_to_fs

from regress_core.config import INTERVAL_LEVEL_KEY
from regress_core.data.sources.partitions import expand_partitions
from regress_core.data.tables import read_table
from regress_core.errors import DataError


def read_days(template: str, days: list[date]) -> dict[date, pd.DataFrame]:
    """Each day's rows (the day's files together, in name order); days without files or rows are left out.

    Args:
        template: A path or fsspec URL with `{date}`, optionally a glob.
        days: The days to read; only their names are looked up.

    Raises:
        DataError: a day's file that cannot be read, or files of one day with different columns.
    """
    frames: dict[date, pd.DataFrame] = {}
    for partition in expand_partitions(template, days):
        parts = [read_table(location) for location in partition.locations]
        if len({tuple(part.columns) for part in parts}) > 1:
            raise DataError(f"the files of {partition.day} under {template} do not have the same columns")
        if parts and sum(len(part) for part in parts):
            frames[partition.day] = pd.concat(parts, ignore_index=True)
    return frames


def stamped_version(frame: pd.DataFrame) -> tuple[str | None, str | None]:
    """The model and version that scored a day's rows (`--stamp` columns), or (None, None) without a stamp.

    Where rows of one day carry several versions, the last row's is the day's.
    """
    if "model_version" not in frame.columns or frame["model_version"].dropna().empty:
        return None, None
    last = frame.dropna(subset=["model_version"]).iloc[-1]
    model = last.get("model")
    return (None if model is None or pd.isna(model) else str(model)), str(last["model_version"])


def interval_levels(template: str, days: list[date]) -> dict[date, float]:
    """The level of the intervals each day's predictions were scored with (`--interval`), where their files say.

    A predictions Parquet file records it in its metadata (`regress.interval`); a day whose files do
    not (CSV, or written by another program) is left out. Where a day's files differ, the last one's is the day's.
    """
    levels: dict[date, float] = {}
    for partition in expand_partitions(template, days):
        for location in partition.locations:
            level = _recorded_level(location)
            if level is not None:
                levels[partition.day] = level
    return levels


def _recorded_level(location: str) -> float | None:
    """The `regress.interval` of a Parquet file's metadata (read from its footer); None without one."""
    try:
        fs, path = url_to_fs(location)
        with fs.open(path, "rb") as handle:
            metadata = pq.read_metadata(handle).metadata or {}
        return float(metadata[INTERVAL_LEVEL_KEY.encode()].decode())
    except (OSError, KeyError, ValueError, pa.ArrowException):  # not Parquet, or no level recorded
        return None
