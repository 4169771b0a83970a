"""Error by day of predictions whose true values have arrived, next to the model's own test error."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from regress_core.config import INTERVAL_COLUMNS
from regress_core.evaluation.intervals import coverage
from regress_core.evaluation.metrics import regression_metrics
from regress_core.monitoring.join import ACTUAL, PREDICTION

LOWER, UPPER = INTERVAL_COLUMNS
# Points a day's interval coverage may stray from its level besides two binomial standard errors:
# the same allowance the gate gives a version's coverage of its test rows.
COVERAGE_SLACK = 0.03


@dataclass(frozen=True)
class DayError:
    """How one day's predictions fared against the actuals that have arrived.

    Attributes:
        date: The day the rows were scored for.
        rows: Predictions of that day joined to an actual.
        waiting: Predictions of that day still waiting for their actual.
        rmse: Root mean squared error over the joined rows (NaN when none are).
        mae: Mean absolute error over them.
        r2: R2 over them (NaN with fewer than two rows).
        coverage: The share of them whose actual lies within the prediction's `lower` and `upper`
            bounds; None when the predictions carry no intervals, NaN when none of them has arrived.
        mean_width: The mean of `upper - lower` over the same rows (None, NaN likewise).
    """

    date: date
    rows: int
    waiting: int
    rmse: float
    mae: float
    r2: float
    coverage: float | None = None
    mean_width: float | None = None

    def as_json(self) -> dict[str, Any]:
        """The figures by name, NaN as None; predictions without intervals have no coverage or mean_width."""
        values = asdict(self)
        values["date"] = self.date.isoformat()
        if self.coverage is None:
            del values["coverage"], values["mean_width"]
        return {name: (None if isinstance(v, float) and math.isnan(v) else v) for name, v in values.items()}


def day_error(day: date, joined: pd.DataFrame) -> DayError:
    """The error of one day's joined predictions (`prediction` and `actual` columns)."""
    arrived = joined[ACTUAL].notna()
    y_true = joined.loc[arrived, ACTUAL].to_numpy(dtype="float64")
    y_pred = joined.loc[arrived, PREDICTION].to_numpy(dtype="float64")
    intervals = interval_figures(joined, arrived)
    if len(y_true) == 0:
        return DayError(day, 0, int((~arrived).sum()), math.nan, math.nan, math.nan, *intervals)
    metrics = regression_metrics(y_true, y_pred) if len(y_true) > 1 else _one_row(y_true, y_pred)
    return DayError(day, len(y_true), int((~arrived).sum()), metrics["rmse"], metrics["mae"], metrics["r2"], *intervals)


def interval_figures(joined: pd.DataFrame, arrived: pd.Series) -> tuple[float | None, float | None]:
    """Coverage and mean width of the intervals of the rows whose actual has arrived.

    (None, None) when the predictions carry no `lower` and `upper` (or only blank ones); NaN for
    both when no row with bounds has its actual yet.
    """
    if LOWER not in joined.columns or UPPER not in joined.columns:
        return None, None
    bounded = joined[LOWER].notna() & joined[UPPER].notna()
    if not bounded.any():
        return None, None
    rows = joined[arrived & bounded]
    if rows.empty:
        return math.nan, math.nan
    lower, upper = rows[LOWER].to_numpy(dtype="float64"), rows[UPPER].to_numpy(dtype="float64")
    return coverage(rows[ACTUAL].to_numpy(dtype="float64"), lower, upper), float(np.mean(upper - lower))


def _one_row(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    error = float(abs(y_true[0] - y_pred[0]))
    return {"rmse": error, "mae": error, "r2": math.nan}


def errors_by_day(days: dict[date, pd.DataFrame]) -> list[DayError]:
    """Each day's error, in date order."""
    return [day_error(day, days[day]) for day in sorted(days)]


def window_error(days: dict[date, pd.DataFrame]) -> DayError | None:
    """The error over every day together, dated by the last day; None without days."""
    if not days:
        return None
    return day_error(max(days), pd.concat(list(days.values()), ignore_index=True))


def degraded(window_rmse: float, test_rmse: float, *, tolerance: float) -> bool:
    """Whether the window's RMSE is worse than the version's test RMSE by more than `tolerance` (0.2: 20 %)."""
    return not math.isnan(window_rmse) and window_rmse > test_rmse * (1.0 + tolerance)


def coverage_margin(level: float, rows: int) -> float:
    """How far a day's coverage may stray from `level`: 0.03 plus two binomial standard errors over `rows`."""
    return COVERAGE_SLACK + 2 * math.sqrt(level * (1 - level) / rows) if rows else math.inf


def coverage_off(day: DayError, level: float) -> bool:
    """Whether the day's intervals, calibrated at `level`, cover its actuals further from it than `coverage_margin`."""
    if day.coverage is None or math.isnan(day.coverage):
        return False
    return abs(day.coverage - level) > coverage_margin(level, day.rows)
