"""A backfill's dates and the one-line refusals of its settings."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from regress_core.config import build_config
from regress_core.data.window import backfill_dates
from regress_core.errors import ConfigError
from regress_core.pipeline.backfill import backfill_key, require_window


def test_dates_run_from_start_to_end_inclusive():
    dates = backfill_dates("2026-11-20", "2026-11-22")
    assert dates == [datetime(2026, 11, day, tzinfo=UTC) for day in (20, 21, 22)]


def test_a_step_that_does_not_land_on_the_end_stops_before_it():
    dates = backfill_dates("2026-11-20", "2026-11-21T06:00", every="12h")
    assert [f"{moment:%d %H}" for moment in dates] == ["20 00", "20 12", "21 00"]


def test_dates_are_read_in_the_data_timezone():
    (only,) = backfill_dates("2026-11-20", "2026-11-20", timezone="Europe/Berlin")
    assert only == datetime(2026, 11, 19, 23, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "end", "every", "message"),
    [
        ("2026-11-22", "2026-11-20", "1d", "--end 2026-11-20 is before --start 2026-11-22"),
        ("2026-11-20", "2026-11-22", "1 day", "--every '1 day' is not a step such as 1d, 12h or 1w"),
        ("2026-11-20", "2026-11-22", "0d", "--every '0d' is not a step"),
        ("yesterday", "2026-11-22", "1d", "--start: 'yesterday' is not a date"),
        ("2026-11-20", "2026-13-01", "1d", "--end: '2026-13-01' is not a date"),
        ("2000-01-01", "2026-01-01", "1h", "is 227929 runs; at most 10000"),
    ],
)
def test_bad_dates_and_steps_are_refused(start, end, every, message):
    with pytest.raises(ConfigError, match=message):
        backfill_dates(start, end, every=every)


def test_a_configuration_without_a_window_is_refused():
    with pytest.raises(ConfigError, match="a backfill needs a time window"):
        require_window(build_config(values={"data": {"source": "linear"}}))
    windowed = build_config(values={"data": {"source": "x.csv", "time_column": "ts", "window": "30d"}})
    require_window(windowed)


def test_the_idempotency_key_names_the_model_and_the_instant():
    assert backfill_key("sales", datetime(2026, 11, 20, tzinfo=UTC)) == "backfill/sales/2026-11-20T00:00:00+00:00"
