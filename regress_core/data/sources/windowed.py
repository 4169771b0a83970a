"""Any source's rows cut to a time window: `start <= time < end`, by a column of row times.

Rows without a readable time (NaT) and rows at or after the run's `as_of` are counted and
reported, never passed on; rows before the window are simply outside it. The time column
itself is dropped from the rows unless it is wanted as a feature.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd
import pyarrow as pa

from regress_core.data.contract import DataContract
from regress_core.data.sources.base import Source
from regress_core.data.window import Window, utc_times, zone
from regress_core.errors import ConfigError, DataError


@dataclass
class WindowCounts:
    """What a window's reading found: rows per day, rows without a time, rows from the future."""

    days: Counter[str] = field(default_factory=Counter)
    no_time: int = 0
    future: int = 0
    first: pd.Timestamp | None = None


@dataclass(frozen=True)
class WindowedSource:
    """The rows of `inner` whose `time_column` falls in `window`.

    Attributes:
        inner: The source read (a file, dated partitions, ...).
        window: The half-open interval of row times kept.
        as_of: The run's instant; rows at or after it are counted as future rows.
        time_column: The column of row times (naive times are read in the window's timezone).
        keep_time: Keep the time column in the rows (it is listed as a feature).
    """

    inner: Source
    window: Window
    as_of: datetime
    time_column: str
    keep_time: bool = False

    @property
    def location(self) -> str:
        return self.inner.location

    def fingerprint(self) -> str:
        bounds = f"{self.window.start.isoformat()}/{self.window.end.isoformat()}"
        # as_of too: the rows it marks as future are counted in the snapshot's summary.
        where = f"window {bounds} as of {self.as_of.isoformat()} on {self.time_column} keep={self.keep_time}"
        return f"{self.inner.fingerprint()}\n{where}"

    def contract(self) -> DataContract | None:
        return self.inner.contract()

    def batches(self) -> Iterator[pa.RecordBatch]:
        yield from self.filtered(WindowCounts())

    def filtered(self, counts: WindowCounts) -> Iterator[pa.RecordBatch]:
        """The window's rows, batch by batch, adding what was found to `counts`.

        Raises:
            DataError: the time column is missing or does not hold times.
        """
        tz = zone(self.window.timezone)
        for batch in self.inner.batches():
            if self.time_column not in batch.schema.names:
                raise DataError(
                    f"{self.location} has no time column {self.time_column!r} "
                    f"(columns: {', '.join(batch.schema.names)})"
                )
            try:
                times = utc_times(batch.column(self.time_column).to_pandas(), timezone=self.window.timezone)
            except ConfigError as exc:
                raise DataError(f"{self.location}: {exc}") from exc
            counts.no_time += int(times.isna().sum())
            counts.future += int((times >= pd.Timestamp(self.as_of)).sum())
            keep = (times >= pd.Timestamp(self.window.start)) & (times < pd.Timestamp(self.window.end))
            kept = times[keep]
            if len(kept):
                counts.days.update(kept.dt.tz_convert(tz).dt.date.astype(str).tolist())
                earliest = kept.min()
                counts.first = earliest if counts.first is None else min(counts.first, earliest)
            selected = batch.filter(pa.array(keep.to_numpy(dtype=bool)))
            if not self.keep_time:
                selected = selected.drop_columns([self.time_column])
            yield selected


def read_window(source: WindowedSource) -> tuple[pa.Table, dict[str, Any]]:
    """The window's rows as one table, and a summary of them for logs, records and the report.

    The summary holds `as_of`, the window (`start`, `end`, `timezone`, `text`), `rows`,
    `days` (rows per day of the window, zero for days without rows), `no_time_rows`,
    `future_rows`, and `warnings` (sentences for a person).

    Raises:
        DataError: the window holds no rows (one line naming the window and the source).
    """
    counts = WindowCounts()
    batches = list(source.filtered(counts))
    table = pa.Table.from_batches(batches)
    window = source.window
    if table.num_rows == 0:
        raise DataError(f"no rows of {source.location} in the window {window.describe()}: nothing to train on")
    days = {day.isoformat(): counts.days.get(day.isoformat(), 0) for day in window.days()}
    summary = {
        "as_of": source.as_of.isoformat(),
        "window": {
            "start": window.start.isoformat(),
            "end": window.end.isoformat(),
            "timezone": window.timezone,
            "text": window.describe(),
        },
        "time_column": source.time_column,
        "rows": table.num_rows,
        "days": days,
        "no_time_rows": counts.no_time,
        "future_rows": counts.future,
        "warnings": window_warnings(source, counts),
    }
    return table, summary


def window_warnings(source: WindowedSource, counts: WindowCounts) -> list[str]:
    """Sentences about rows left out and days without data."""
    warnings = []
    missing = getattr(source.inner, "missing_days", None)
    if callable(missing) and missing():
        days = [day.isoformat() for day in missing()]
        warnings.append(f"{len(days)} day(s) of the window have no partition: {', '.join(days)}")
    if counts.no_time:
        warnings.append(f"{counts.no_time} row(s) have no time in {source.time_column!r}; not trained on")
    if counts.future:
        warnings.append(f"{counts.future} row(s) are at or after as_of {source.as_of.isoformat()}; not trained on")
    if counts.first is not None and counts.first - pd.Timestamp(source.window.start) >= pd.Timedelta(days=1):
        warnings.append(
            f"the window starts {source.window.start:%Y-%m-%d %H:%M} but its first row is at "
            f"{counts.first:%Y-%m-%d %H:%M}: the window is longer than the data"
        )
    return warnings
