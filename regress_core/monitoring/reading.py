"""The predictions and actuals of a window's days, read one day's name at a time."""

from __future__ import annotations

from datetime import date

import pandas as pd

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
