"""Prediction intervals in a scoring job's output: the level it asks for, and each row's bounds.

A job asks for no intervals (None), for the scoring version's own level (`"model"`, its
`model.interval`), or for a level such as 0.8. The level is checked against the version's
calibration before any input is read; the bounds of each batch are the version's conformal
quantile around its predictions (`evaluation.intervals`), written as `lower` and `upper`.
"""

from __future__ import annotations

import numpy as np

from regress_core.config import INTERVAL_COLUMNS, MODEL_LEVEL
from regress_core.registry.package import ModelPackage


def interval_level(package: ModelPackage, interval: float | str | None) -> float | None:
    """The level a job's intervals are computed at: None without intervals, the version's own for "model".

    Raises:
        RegistryError: the version was published before intervals were calibrated.
        ConfigError: a level the version holds no quantile of, or too high for its calibration rows.
    """
    if interval is None:
        return None
    calibration = package.interval_calibration()
    level = calibration.level if interval == MODEL_LEVEL else float(interval)
    calibration.quantile(level)  # refuses a level the version cannot give
    return level


def interval_bounds(package: ModelPackage, prediction: np.ndarray, level: float | None) -> dict[str, np.ndarray]:
    """The `lower` and `upper` columns around a batch's predictions, shape (n_rows,) each; none without a level."""
    if level is None:
        return {}
    lower, upper = package.interval_calibration().bounds(prediction, level)
    return dict(zip(INTERVAL_COLUMNS, (lower, upper), strict=True))
