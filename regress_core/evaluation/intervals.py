"""Prediction intervals: split-conformal calibration on the validation rows, and their coverage.

A version's interval at level L is `prediction ± q_L · s(prediction)`:

- `absolute`: s = 1, and q_L is the conformal quantile of the validation rows' absolute
  errors: the same width everywhere (split conformal prediction).
- `normalized`: s(prediction) is the mean absolute error of the training rows near that
  prediction (piecewise linear between prediction bins), and q_L the conformal quantile of
  the validation rows' errors divided by s: intervals widen where errors do.

The validation rows never trained the network (they only stopped it early), so on rows
exchangeable with them an interval covers the truth with probability at least L. The
method with the smaller mean width on held-out halves of the validation rows is kept
(normalized only when at least 5% narrower: constant widths are the simpler claim).
Quantiles are stored for every level from 0.50 to 0.99 in steps of 0.01, plus the model's
own level, so that scoring can ask for any of them without the validation rows.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from regress_core.errors import ConfigError

DEFAULT_LEVEL = 0.9
METHODS = ("absolute", "normalized")
LEVEL_GRID = tuple(round(0.5 + step / 100, 2) for step in range(50))
MAX_SCALE_BINS = 10
ROWS_PER_SCALE_BIN = 50
NORMALIZED_GAIN = 0.95  # normalized widths are kept only when at least 5% narrower than constant ones
SCALE_FLOOR = 0.05  # of the mean absolute error: no bin's width collapses to nothing

METHOD_WORDS = {
    "absolute": "split conformal on the validation rows: the same width for every prediction",
    "normalized": "normalized split conformal: the width grows with the typical error at that prediction",
}


def level_key(level: float) -> str:
    """How a level is written in a package: two decimals, or three where it needs them (0.925)."""
    text = f"{level:.3f}".rstrip("0")
    return text if len(text.split(".")[1]) >= 2 else f"{level:.2f}"


def conformal_quantile(scores: np.ndarray, level: float) -> float:
    """The ⌈(n+1)·level⌉-th smallest score: the split-conformal quantile; inf when n is too small for `level`."""
    n = len(scores)
    rank = math.ceil((n + 1) * level - 1e-9)
    if n == 0 or rank > n:
        return math.inf
    return float(np.partition(scores, rank - 1)[rank - 1])


@dataclass(frozen=True)
class Scale:
    """The typical absolute error at a prediction, linear between the bins' mean predictions."""

    knots: tuple[float, ...]
    values: tuple[float, ...]

    def __call__(self, prediction: np.ndarray) -> np.ndarray:
        return np.interp(np.asarray(prediction, dtype="float64"), self.knots, self.values)

    @classmethod
    def fit(cls, prediction: np.ndarray, error: np.ndarray) -> Scale | None:
        """Mean absolute error in bins of the training rows' predictions; None when too few rows for two bins."""
        bins = min(MAX_SCALE_BINS, len(prediction) // ROWS_PER_SCALE_BIN)
        if bins < 2:
            return None
        order = np.argsort(prediction, kind="stable")
        groups = np.array_split(order, bins)
        floor = max(SCALE_FLOOR * float(np.mean(error)), 1e-12)
        knots = [float(np.mean(prediction[group])) for group in groups]
        values = [max(float(np.mean(error[group])), floor) for group in groups]
        if any(b <= a for a, b in itertools.pairwise(knots)):  # tied predictions: no shape to follow
            return None
        return cls(tuple(knots), tuple(values))


@dataclass(frozen=True)
class IntervalCalibration:
    """A version's interval quantiles by level, the method and the rows they were calibrated on."""

    method: str
    level: float
    calibration_rows: int
    quantiles: dict[str, float]
    scale: Scale | None = None

    def quantile(self, level: float) -> float:
        """The stored quantile of `level`; a level not stored, or too high for the calibration rows, is refused."""
        value = self.quantiles.get(level_key(level))
        if value is None:
            raise ConfigError(
                f"no interval at level {level:g}: this version holds levels 0.50 to 0.99 in steps of 0.01 "
                f"and its own {level_key(self.level)}"
            )
        if not math.isfinite(value):
            needed = math.ceil(level / (1 - level))
            raise ConfigError(
                f"an interval at level {level:g} needs at least {needed} validation rows; this version was "
                f"calibrated on {self.calibration_rows}: ask for a lower level"
            )
        return value

    def bounds(self, prediction: np.ndarray, level: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds around predictions (target units) at `level` (default: the version's)."""
        prediction = np.asarray(prediction, dtype="float64")
        half = self.quantile(self.level if level is None else level)
        width = half * self.scale(prediction) if self.scale is not None else np.full_like(prediction, half)
        return prediction - width, prediction + width

    def to_dict(self) -> dict[str, Any]:
        scale = {"knots": list(self.scale.knots), "values": list(self.scale.values)} if self.scale else None
        quantiles = {key: (value if math.isfinite(value) else None) for key, value in self.quantiles.items()}
        return {
            "method": self.method,
            "level": self.level,
            "calibration_rows": self.calibration_rows,
            "quantiles": quantiles,
            "scale": scale,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IntervalCalibration:
        scale = data.get("scale")
        quantiles = {key: math.inf if value is None else float(value) for key, value in data["quantiles"].items()}
        return cls(
            method=str(data["method"]),
            level=float(data["level"]),
            calibration_rows=int(data["calibration_rows"]),
            quantiles=quantiles,
            scale=Scale(tuple(scale["knots"]), tuple(scale["values"])) if scale else None,
        )


def _scores(y: np.ndarray, prediction: np.ndarray, scale: Scale | None) -> np.ndarray:
    error = np.abs(np.asarray(y, dtype="float64") - prediction)
    return error / scale(prediction) if scale is not None else error


def _held_out_width(y: np.ndarray, prediction: np.ndarray, scale: Scale | None, level: float) -> float:
    """Mean width on each half of the validation rows when calibrated on the other half (inf when too few rows)."""
    halves = np.array_split(np.random.default_rng(0).permutation(len(y)), 2)
    widths = []
    for calibrate, measure in (halves, halves[::-1]):
        q = conformal_quantile(_scores(y[calibrate], prediction[calibrate], scale), level)
        spread = scale(prediction[measure]) if scale is not None else np.ones(len(measure))
        widths.append(2 * q * float(np.mean(spread)))
    return float(np.mean(widths))


def calibrate(
    y_val: np.ndarray,
    val_prediction: np.ndarray,
    *,
    y_train: np.ndarray,
    train_prediction: np.ndarray,
    level: float = DEFAULT_LEVEL,
) -> IntervalCalibration:
    """Calibrate intervals on the validation rows; the training rows only shape the normalized method's widths."""
    y_val, val_prediction = np.asarray(y_val, dtype="float64"), np.asarray(val_prediction, dtype="float64")
    train_prediction = np.asarray(train_prediction, dtype="float64")
    scale = Scale.fit(train_prediction, np.abs(np.asarray(y_train, dtype="float64") - train_prediction))
    if scale is not None and _held_out_width(y_val, val_prediction, scale, level) > NORMALIZED_GAIN * _held_out_width(
        y_val, val_prediction, None, level
    ):
        scale = None
    scores = _scores(y_val, val_prediction, scale)
    levels = sorted({level_key(value) for value in (*LEVEL_GRID, level)}, key=float)
    return IntervalCalibration(
        method="normalized" if scale is not None else "absolute",
        level=level,
        calibration_rows=len(y_val),
        quantiles={key: conformal_quantile(scores, float(key)) for key in levels},
        scale=scale,
    )


def coverage(y: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """The share of rows whose true value lies within [lower, upper]."""
    y = np.asarray(y, dtype="float64")
    return float(np.mean((y >= lower) & (y <= upper))) if len(y) else math.nan


def interval_summary(
    calibration: IntervalCalibration, y_test: np.ndarray, test_prediction: np.ndarray
) -> dict[str, Any]:
    """What a package and its report record: the method, the level and, on the test rows, coverage and mean width.

    Coverage and width are None when the validation rows are too few for the level.
    """
    quantile = calibration.quantiles[level_key(calibration.level)]
    test: dict[str, Any] = {"coverage": None, "mean_width": None, "rows": len(y_test)}
    if math.isfinite(quantile):
        lower, upper = calibration.bounds(test_prediction)
        test.update(coverage=coverage(y_test, lower, upper), mean_width=float(np.mean(upper - lower)))
    return {
        "method": calibration.method,
        "level": calibration.level,
        "calibration_rows": calibration.calibration_rows,
        "quantile": quantile if math.isfinite(quantile) else None,
        "test": test,
    }
