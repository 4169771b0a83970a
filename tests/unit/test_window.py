"""A run's as_of and its window: lengths, instants, timezones, half-open bounds and the days they cover."""

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

from regress_core.data.window import Window, parse_duration, parse_instant, utc_times, window_for
from regress_core.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("30d", timedelta(days=30)),
        ("12h", timedelta(hours=12)),
        ("8w", timedelta(weeks=8)),
        (" 90m ", timedelta(minutes=90)),
    ],
)
def test_window_lengths(text, length):
    assert parse_duration(text) == length


@pytest.mark.parametrize("text", ["30", "d30", "1.5d", "-3d", "30 days", "", "3y"])
def test_bad_lengths_are_one_line_errors(text):
    with pytest.raises(ConfigError, match=r"is not a length such as 30d"):
        parse_duration(text)


def test_a_zero_length_is_refused():
    with pytest.raises(ConfigError, match="is empty"):
        parse_duration("0d")


def test_instants_are_utc_and_naive_values_read_in_the_timezone():
    assert parse_instant("2026-11-30") == datetime(2026, 11, 30, tzinfo=UTC)
    assert parse_instant(date(2026, 11, 30)) == datetime(2026, 11, 30, tzinfo=UTC)
    assert parse_instant("2026-11-30T06:30") == datetime(2026, 11, 30, 6, 30, tzinfo=UTC)
    assert parse_instant("2026-07-01", timezone="Europe/London") == datetime(2026, 6, 30, 23, tzinfo=UTC)
    assert parse_instant("2026-11-30T06:00+02:00", timezone="Europe/London") == datetime(2026, 11, 30, 4, tzinfo=UTC)
    with pytest.raises(ConfigError, match="is not a date or an ISO date-time"):
        parse_instant("yesterday")
    with pytest.raises(ConfigError, match="unknown timezone 'Mars/Base'"):
        parse_instant("2026-11-30", timezone="Mars/Base")


def test_the_window_ends_at_as_of_and_excludes_it():
    as_of = parse_instant("2026-11-30")
    window = window_for(as_of, length="3d")
    assert (window.start, window.end) == (datetime(2026, 11, 27, tzinfo=UTC), as_of)
    times = pd.Series(
        ["2026-11-26 23:59:59", "2026-11-27 00:00", "2026-11-29 23:59:59", "2026-11-30 00:00", "2026-12-01"]
    )
    assert window.mask(times).tolist() == [False, True, True, False, False]
    assert window.days() == [date(2026, 11, 27), date(2026, 11, 28), date(2026, 11, 29)]


def test_explicit_bounds_and_an_end_past_as_of_is_cut_back():
    as_of = parse_instant("2026-11-30T12:00")
    window = window_for(as_of, start="2026-11-01", end="2026-12-31")
    assert window.start == datetime(2026, 11, 1, tzinfo=UTC)
    assert window.end == as_of
    assert window.days()[-1] == date(2026, 11, 30)
    with pytest.raises(ConfigError, match="not both"):
        window_for(as_of, length="3d", start="2026-11-01")
    with pytest.raises(ConfigError, match="needs a length"):
        window_for(as_of)
    with pytest.raises(ConfigError, match="the window is empty"):
        window_for(as_of, start="2026-12-01")


def test_days_are_counted_in_the_windows_timezone():
    window = window_for(parse_instant("2026-07-03", timezone="Europe/London"), length="2d", timezone="Europe/London")
    assert window.days() == [date(2026, 7, 1), date(2026, 7, 2)]
    local = pd.Series(["2026-07-01 00:30"])  # 23:30 UTC the day before: inside the London window
    assert window.mask(local).tolist() == [True]


def test_aware_times_keep_their_offset_and_non_times_are_refused():
    times = pd.Series(pd.to_datetime(["2026-11-29T23:00:00-05:00"]))
    assert utc_times(times).iloc[0] == pd.Timestamp("2026-11-30T04:00", tz="UTC")
    with pytest.raises(ConfigError, match="column 'when' does not hold ISO dates or times"):
        utc_times(pd.Series(["soon", "later"], name="when"))


def test_a_window_needs_aware_bounds():
    with pytest.raises(ValueError, match="timezone-aware"):
        Window(datetime(2026, 1, 1), datetime(2026, 1, 2))
