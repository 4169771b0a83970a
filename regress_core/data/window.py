"""A run's date (`as_of`) and the time window of rows it reads.

A window is half-open, `start <= time < end`: the rows of the run's own instant and later are
never in it, so a run dated `as_of` learns only from what had arrived before it. Instants are
timezone-aware and kept in UTC; a naive timestamp or a bare date is read in the window's
timezone (UTC unless a setting names another).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from regress_core.errors import ConfigError

DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """A window's length from `30d`, `12h`, `8w`, `90m` or `45s`.

    Raises:
        ConfigError: for anything else, or a length of zero.
    """
    match = DURATION.match(str(text))
    if not match:
        raise ConfigError(f"window {text!r} is not a length such as 30d, 12h or 8w (units: s, m, h, d, w)")
    length = timedelta(**{UNITS[match.group(2)]: int(match.group(1))})
    if length <= timedelta(0):
        raise ConfigError(f"window {text!r} is empty: give a positive length such as 30d")
    return length


def zone(name: str) -> ZoneInfo:
    """The IANA timezone of this name (`UTC`, `Europe/London`)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"unknown timezone {name!r}: give an IANA name such as UTC or Europe/London") from None


def parse_instant(value: str | date | datetime, *, timezone: str = "UTC") -> datetime:
    """An instant in UTC from a date (its midnight), an ISO date-time, or a datetime.

    Naive values are read in `timezone`; values with an offset keep it.

    Raises:
        ConfigError: naming the value that is neither.
    """
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise ConfigError(
                f"{value!r} is not a date or an ISO date-time such as 2026-11-30 or 2026-11-30T06:00"
            ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone(timezone))
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class Window:
    """The half-open interval `[start, end)` of row times a run reads, in UTC.

    Attributes:
        start: The first instant in the window.
        end: The first instant after it (a run's `as_of`).
        timezone: Where the window's days are counted (for dated partitions and reports).
    """

    start: datetime
    end: datetime
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("a window's bounds must be timezone-aware")
        if self.start >= self.end:
            raise ConfigError(f"the window is empty: it starts at {self.start:%Y-%m-%d %H:%M} and ends at or before it")

    def days(self) -> list[date]:
        """The calendar days (in the window's timezone) that hold part of the window, in order."""
        tz = zone(self.timezone)
        first = self.start.astimezone(tz).date()
        last = (self.end - timedelta(microseconds=1)).astimezone(tz).date()
        return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]

    def mask(self, times: pd.Series) -> pd.Series:
        """Which of these row times fall in the window (naive times read in the window's timezone)."""
        instants = utc_times(times, timezone=self.timezone)
        return (instants >= pd.Timestamp(self.start)) & (instants < pd.Timestamp(self.end))

    def describe(self) -> str:
        return f"{self.start:%Y-%m-%d %H:%M} to {self.end:%Y-%m-%d %H:%M} UTC"


def utc_times(times: pd.Series, *, timezone: str = "UTC") -> pd.Series:
    """Row times as UTC instants; naive ones are read in `timezone`.

    Raises:
        ConfigError: when the column does not hold times.
    """
    try:
        parsed = times if pd.api.types.is_datetime64_any_dtype(times) else pd.to_datetime(times, format="ISO8601")
    except (ValueError, TypeError) as exc:
        first_line = str(exc).splitlines()[0]
        raise ConfigError(f"column {times.name!r} does not hold ISO dates or times: {first_line}") from exc
    if parsed.dt.tz is None:
        parsed = parsed.dt.tz_localize(zone(timezone), ambiguous="NaT", nonexistent="NaT")
    return parsed.dt.tz_convert("UTC")


def window_for(
    as_of: datetime,
    *,
    length: str | None = None,
    start: str | date | datetime | None = None,
    end: str | date | datetime | None = None,
    timezone: str = "UTC",
) -> Window:
    """The window a run dated `as_of` reads: `[as_of - length, as_of)`, or explicit bounds.

    An explicit `end` later than `as_of` is cut back to `as_of`, so no run reads rows from its future.

    Raises:
        ConfigError: when both a length and a start are given, or when neither bounds the window.
    """
    if length is not None and start is not None:
        raise ConfigError("give either a window length (data.window) or a start (data.start), not both")
    upper = min(parse_instant(end, timezone=timezone), as_of) if end is not None else as_of
    if length is not None:
        lower = upper - parse_duration(length)
    elif start is not None:
        lower = parse_instant(start, timezone=timezone)
    else:
        raise ConfigError("a window needs a length (data.window such as 30d) or a start (data.start)")
    return Window(lower, upper, timezone)


MAX_BACKFILL_RUNS = 10_000


def backfill_dates(
    start: str | date | datetime, end: str | date | datetime, *, every: str = "1d", timezone: str = "UTC"
) -> list[datetime]:
    """The `as_of` instants of a backfill: `start`, then every `every`, up to and including `end`.

    Args:
        start: The first run's date or ISO date-time (a date is its midnight in `timezone`).
        end: The last possible run's date or date-time.
        every: The step between runs: `1d`, `12h`, `1w`.
        timezone: Where bare dates and naive times are read.

    Raises:
        ConfigError: an unreadable bound or step, an end before the start, or more than
            MAX_BACKFILL_RUNS runs; each names the option (--start, --end, --every).
    """
    bounds = []
    for option, value in (("--start", start), ("--end", end)):
        try:
            bounds.append(parse_instant(value, timezone=timezone))
        except ConfigError as exc:
            raise ConfigError(f"{option}: {exc}") from exc
    try:
        step = parse_duration(every)
    except ConfigError as exc:
        raise ConfigError(f"--every {every!r} is not a step such as 1d, 12h or 1w") from exc
    first, last = bounds
    if last < first:
        raise ConfigError(f"--end {end} is before --start {start}")
    count = (last - first) // step + 1
    if count > MAX_BACKFILL_RUNS:
        raise ConfigError(f"--start {start} to --end {end} every {every} is {count} runs; at most {MAX_BACKFILL_RUNS}")
    return [first + index * step for index in range(count)]
