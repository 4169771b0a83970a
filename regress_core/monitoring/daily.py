"""Error by day of predictions whose true values have arrived, next to the model's own test error."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from regress_core.evaluation.metrics import regression_metrics
from regress_core.monitoring.join import ACTUAL, PREDICTION


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
    """

    date: date
    rows: int
    waiting: int
    rmse: float
    mae: float
    r2: float

    def as_json(self) -> dict[str, Any]:
        values = asdict(self)
        values["date"] = self.date.isoformat()
        return {name: (None if isinstance(v, float) and math.isnan(v) else v) for name, v in values.items()}


def day_error(day: date, joined: pd.DataFrame) -> DayError:
    """The error of one day's joined predictions (`prediction` and `actual` columns)."""
    arrived = joined[ACTUAL].notna()
    y_true = joined.loc[arrived, ACTUAL].to_numpy(dtype="float64")
    y_pred = joined.loc[arrived, PREDICTION].to_numpy(dtype="float64")
    if len(y_true) == 0:
        return DayError(day, 0, int((~arrived).sum()), math.nan, math.nan, math.nan)
    metrics = regression_metrics(y_true, y_pred) if len(y_true) > 1 else _one_row(y_true, y_pred)
    return DayError(day, len(y_true), int((~arrived).sum()), metrics["rmse"], metrics["mae"], metrics["r2"])


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
