"""Dated scoring: a job's day (`as_of`), the day's input and output, and the days of a backfill.

`{as_of}` in an input or output location names the day's batch: `incoming/dt={as_of}/rows.parquet`
is `incoming/dt=2026-12-01/rows.parquet` for the job dated 2026-12-01. A day is the UTC date of
the job's instant (a date given alone is its midnight), so a run scheduled at 06:00 scores that
day's batch. `dated_location` is the one place a location becomes the day's; a kind of location
that binds the day otherwise (a query's parameter) branches there.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from fsspec.core import url_to_fs

from regress_core.config import ScoringConfig
from regress_core.data.window import parse_instant
from regress_core.errors import ConfigError, DataError
from regress_core.scoring.results import ScoringSkipped

AS_OF = "{as_of}"
# A backfill of more than ten years is a typo in a date, not a plan.
MAX_BACKFILL_DAYS = 3660
GLOB_CHARS = "*?["


def scoring_day(as_of: str | date | datetime) -> date:
    """The day a job dated `as_of` scores: the UTC date of the instant (a date is its own day).

    Raises:
        ConfigError: `as_of` is neither a date nor an ISO date-time.
    """
    if isinstance(as_of, date) and not isinstance(as_of, datetime):
        return as_of
    try:
        return parse_instant(as_of).astimezone(UTC).date()
    except ConfigError as exc:
        raise ConfigError(f"as_of: {exc}") from exc


def dated_location(location: str, day: date) -> str:
    """The location of `day`'s batch: `{as_of}` replaced by the ISO date; a location without it as given."""
    return location.replace(AS_OF, day.isoformat())


def is_dated(location: str) -> bool:
    return AS_OF in location


def for_day(params: ScoringConfig, day: date) -> ScoringConfig:
    """The job's parameters with its input and output for `day`."""
    return params.model_copy(
        update={"input": dated_location(params.input, day), "output": dated_location(params.output, day)}
    )


def input_arrived(location: str) -> bool:
    """Whether an input location holds anything yet: the file or folder exists, or the glob matches."""
    try:
        fs, path = url_to_fs(location)
        if any(char in path for char in GLOB_CHARS):
            return bool(fs.glob(path))
        return bool(fs.exists(path))
    except (OSError, ValueError):
        return True  # not a question of arrival: reading the input names the problem


def check_input(params: ScoringConfig, day: date) -> ScoringSkipped | None:
    """Nothing when the day's input has arrived; else a skip (`if_missing="skip"`) or an error.

    Args:
        params: The job's parameters, `{as_of}` not yet replaced.
        day: The job's day.

    Raises:
        DataError: a dated input (`{as_of}`) has not arrived and `params.if_missing` is "fail".
            An undated one is named when it is read (`input not found`).
    """
    location = dated_location(params.input, day)
    if input_arrived(location) or (params.if_missing == "fail" and not is_dated(params.input)):
        return None
    if params.if_missing == "fail":
        raise DataError(
            f"no input for {day.isoformat()}: {location} does not exist yet; "
            "--if-missing skip exits 0 when a day's input has not arrived"
        )
    return ScoringSkipped(
        as_of=day.isoformat(),
        reason="no-input",
        message=f"nothing to score for {day.isoformat()}: {location} has not arrived yet (--if-missing skip)",
    )


def backfill_days(start: str | date, end: str | date, *, params: ScoringConfig | None = None) -> list[date]:
    """The days from `start` to `end`, both included, in order.

    Args:
        start: The first day.
        end: The last day.
        params: When given, the job's input and output must name the day (`{as_of}`), or every
            day would read or replace the same file.

    Raises:
        ConfigError: an end before the start, a range longer than `MAX_BACKFILL_DAYS`, or a
            location without `{as_of}`.
    """
    first, last = scoring_day(start), scoring_day(end)
    if last < first:
        raise ConfigError(f"--end {last} is before --start {first}")
    count = (last - first).days + 1
    if count > MAX_BACKFILL_DAYS:
        raise ConfigError(
            f"--start {first} to --end {last} is {count} days; a backfill covers at most {MAX_BACKFILL_DAYS}"
        )
    if params is not None:
        for option, location in (("--input", params.input), ("--output", params.output)):
            if not is_dated(location):
                raise ConfigError(
                    f"{option} {location} has no {AS_OF}: a backfill scores one batch per day, "
                    f"so name the day in it, such as dt={AS_OF}"
                )
    return [first + timedelta(days=offset) for offset in range(count)]
