"""A monitoring run: a window's predictions joined to the actuals that have arrived, measured day by day."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd

from regress_core.config import INTERVAL_COLUMNS
from regress_core.data.sources.partitions import is_dated
from regress_core.data.tables import read_table
from regress_core.data.window import parse_duration, zone
from regress_core.errors import ConfigError, DataError
from regress_core.monitoring.daily import DayError, coverage_margin, coverage_off, degraded, errors_by_day, window_error
from regress_core.monitoring.join import describe_key, join_actuals, key_columns, unmatched_actuals
from regress_core.monitoring.reading import interval_levels, read_days, stamped_version

DAY = "__monitored_day__"  # carries each prediction's day through the one join of the whole window


@dataclass(frozen=True)
class Reference:
    """The model version that scored the predictions, and what it promised on its own test rows.

    Attributes:
        model: The model's name.
        version: Its version (`v0003`).
        test_rmse: The version's RMSE on its test rows, in target units.
        target: The name of the value it predicts (the actuals' column by default).
    """

    model: str
    version: str
    test_rmse: float
    target: str


# (model, version) stamped on the predictions, or (None, None): the reference to measure against.
Lookup = Callable[[str | None, str | None], Reference]


@dataclass(frozen=True)
class MonitorReport:
    """Error by day of a window's predictions next to the scoring version's test RMSE.

    Attributes:
        reference: The version the window is compared with (the newest day's, where stamped).
        as_of: The instant the window ends at.
        window: Its length as given (`7d`).
        tolerance: How much worse than the test RMSE (a fraction) the window may be.
        days: Each day that has predictions, in order.
        whole: The window's days together.
        missing_days: Days of the window with no predictions.
        unmatched: Actuals whose key no prediction of the window has.
        versions: The version stamped on each day's predictions, where they carry one.
        levels: The level of each day's prediction intervals, where its files record one.
    """

    reference: Reference
    as_of: datetime
    window: str
    tolerance: float
    days: list[DayError]
    whole: DayError
    missing_days: list[date] = field(default_factory=list)
    unmatched: int = 0
    versions: dict[date, str] = field(default_factory=dict)
    levels: dict[date, float] = field(default_factory=dict)

    @property
    def degraded(self) -> bool:
        return degraded(self.whole.rmse, self.reference.test_rmse, tolerance=self.tolerance)

    @property
    def change(self) -> float:
        """The window's RMSE relative to the test RMSE, minus one (0.25: 25 % worse)."""
        return self.whole.rmse / self.reference.test_rmse - 1.0 if self.reference.test_rmse else math.inf

    @property
    def waiting(self) -> int:
        return sum(day.waiting for day in self.days)

    def warnings(self) -> list[str]:
        """What a person should know besides the figures, one line each."""
        lines = [f"no predictions for {day} (nothing to measure that day)" for day in self.missing_days]
        if self.waiting:
            lines.append(f"{self.waiting} predictions are still waiting for their actual")
        if self.unmatched:
            lines.append(
                f"{self.unmatched} actuals match no prediction of the window (keys missing in the predictions)"
            )
        lines += [self._coverage_warning(day) for day in self.days if self._coverage_off(day)]
        if self.degraded:
            lines.append(
                f"{self.reference.model}@{self.reference.version} degraded: RMSE {self.whole.rmse:.4g} over "
                f"{self.window} is {self.change:.0%} above its test RMSE {self.reference.test_rmse:.4g} "
                f"(tolerance {self.tolerance:.0%})"
            )
        return lines

    def describe_coverage(self) -> str:
        """A sentence on the window's interval coverage; empty without intervals or actuals for them."""
        whole = self.whole
        if whole.coverage is None or math.isnan(whole.coverage):
            return ""
        return f" Prediction intervals cover {whole.coverage:.1%} of the actuals (mean width {whole.mean_width:.4g})."

    def as_json(self) -> dict[str, Any]:
        days = [{**day.as_json(), **self._labels_of(day.date)} for day in self.days]
        return {
            "model": self.reference.model,
            "version": self.reference.version,
            "test_rmse": self.reference.test_rmse,
            "as_of": self.as_of.isoformat(),
            "window": self.window,
            "tolerance": self.tolerance,
            "degraded": self.degraded,
            "window_error": self.whole.as_json(),
            "days": days,
            "missing_days": [day.isoformat() for day in self.missing_days],
            "unmatched_actuals": self.unmatched,
        }

    def event_payload(self) -> dict[str, Any]:
        """The figures of a `regress.model.performance-degraded` event."""
        document = self.as_json()
        summary = self.warnings()[-1] if self.degraded else "within tolerance"
        return {"summary": summary, "change": self.change, **document}

    def _labels_of(self, day: date) -> dict[str, Any]:
        """The version and interval level of a day's predictions, where known."""
        found: dict[str, Any] = {"model_version": self.versions[day]} if day in self.versions else {}
        return found | ({"interval_level": self.levels[day]} if day in self.levels else {})

    def _coverage_off(self, day: DayError) -> bool:
        return day.date in self.levels and coverage_off(day, self.levels[day.date])

    def _coverage_warning(self, day: DayError) -> str:
        level = self.levels[day.date]
        return (
            f"intervals at level {level:g} cover {day.coverage:.1%} of the {day.rows} actuals of {day.date}: "
            f"more than {coverage_margin(level, day.rows):.1%} from {level:.1%} (3 points and two standard errors)"
        )


def monitored_days(as_of: datetime, window: str, *, timezone: str = "UTC") -> list[date]:
    """The days a window of whole days measures: `window` days that end with as_of's day, in order.

    Raises:
        ConfigError: a length that is not whole days (12h).
    """
    length = parse_duration(window)
    if length % timedelta(days=1):
        raise ConfigError(f"monitoring window {window!r} is not whole days: give a length such as 7d or 2w")
    last = as_of.astimezone(zone(timezone)).date()
    return [last - timedelta(days=back) for back in range(length.days - 1, -1, -1)]


def monitor_window(
    *,
    predictions: str,
    actuals: str,
    key: str | list[str],
    target: str | None,
    as_of: datetime,
    window: str,
    tolerance: float,
    lookup: Lookup,
    timezone: str = "UTC",
) -> MonitorReport:
    """Join each day of the window's predictions to the actuals that have arrived and measure the error.

    Args:
        predictions: A path or URL with `{date}`: the predictions of each day.
        actuals: A path or URL with `{date}` (read for the same days), or one table of actuals.
        key: The column (or columns, a list or `a,b`) that names a row in both.
        target: The actuals' column of true values; None: the reference version's target.
        as_of: The window's last day is this instant's day.
        window: The window's length in whole days (`7d`, `2w`).
        tolerance: The fraction by which the window's RMSE may exceed the test RMSE.
        lookup: Finds the reference version from what the predictions are stamped with.
        timezone: Where the window's days are counted.

    Raises:
        DataError: no predictions in the window, no actuals arrived for any of them, or a join
            that cannot be made (see `join_actuals`).
    """
    days = monitored_days(as_of, window, timezone=timezone)
    scored = read_days(predictions, days)
    span = f"{days[0]} to {days[-1]}"
    if not scored:
        raise DataError(f"no predictions for any day of the window ({span}) at {predictions}: nothing to measure")
    versions = {day: version for day, frame in scored.items() if (version := stamped_version(frame)[1])}
    with_intervals = [day for day, frame in scored.items() if set(INTERVAL_COLUMNS) <= set(frame.columns)]
    reference = lookup(*stamped_version(scored[max(scored)]))
    by_day, unmatched = join_days(scored, actuals, key=key, target=target or reference.target, span=span)
    whole = window_error(by_day)
    if whole is None or whole.rows == 0:
        waiting = sum(len(frame) for frame in by_day.values())
        raise DataError(
            f"no actual has arrived yet for the {waiting} predictions of {span} "
            f"(key {describe_key(key)} in {actuals}): nothing to measure yet"
        )
    return MonitorReport(
        reference=reference,
        as_of=as_of,
        window=window,
        tolerance=tolerance,
        days=errors_by_day(by_day),
        whole=whole,
        missing_days=[day for day in days if day not in scored],
        unmatched=unmatched,
        versions=versions,
        levels=interval_levels(predictions, sorted(with_intervals)) if with_intervals else {},
    )


def join_days(
    scored: dict[date, pd.DataFrame], actuals: str, *, key: str | list[str], target: str, span: str
) -> tuple[dict[date, pd.DataFrame], int]:
    """Each day's predictions with their actuals, and how many actuals matched no prediction.

    Dated actuals (`{date}`) are joined day by day, so a key need only be unique within its
    day; one table of actuals is joined to the whole window, whose keys must then all differ.
    """
    if is_dated(actuals):
        arrived = read_days(actuals, sorted(scored))
        if not arrived:
            raise DataError(f"no actuals at {actuals} for any day of the window ({span}): nothing to measure yet")
        joined, unmatched = {}, 0
        for day, frame in scored.items():
            truth = arrived[day] if day in arrived else _nothing_arrived(frame, key=key, target=target)
            joined[day] = join_actuals(frame, truth, key=key, target=target)
            unmatched += unmatched_actuals(frame, truth, key=key)
        return joined, unmatched
    truth = read_table(actuals)
    together = pd.concat([frame.assign(**{DAY: day}) for day, frame in scored.items()], ignore_index=True)
    whole = join_actuals(together, truth, key=key, target=target)
    by_day = {day: rows.drop(columns=DAY) for day, rows in whole.groupby(DAY, sort=True)}
    return by_day, unmatched_actuals(together, truth, key=key)


def _nothing_arrived(predictions: pd.DataFrame, *, key: str | list[str], target: str) -> pd.DataFrame:
    """No actuals for a day: an empty table of them, its key typed like the predictions' (every row waits)."""
    columns = {
        name: predictions[name].iloc[:0] if name in predictions.columns else pd.Series(dtype="object")
        for name in key_columns(key)
    }
    return pd.DataFrame({**columns, target: pd.Series(dtype="float64")})
