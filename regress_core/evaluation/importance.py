"""Permutation importance: how much the test error grows when one feature's values are shuffled.

A feature the model relies on costs accuracy once its values no longer belong to their rows;
one it ignores costs nothing. The measure needs only a way to predict from raw rows, so it
reads the same for every kind of model, and it is in target units (RMSE increase).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

REPEATS = 5
# Rows are a seeded sample of the test rows, sized so that about MAX_PREDICTIONS rows are predicted in
# all (rows x features x repeats), never more than MAX_ROWS nor fewer than MIN_ROWS. The default
# embedding MLP predicts about 20,000 rows per CPU-second in float32 (2-core EPYC), so California
# Housing (8 features x 5 repeats on 1,000 of its 4,128 test rows) costs about 2 CPU-seconds.
MAX_PREDICTIONS = 40_000
MAX_ROWS = 5_000
MIN_ROWS = 200


def _rmse(y_true: np.ndarray, y_pred: np.ndarray, axis: int | None = None) -> np.ndarray:
    return np.sqrt(np.mean((np.asarray(y_pred, dtype="float64") - y_true) ** 2, axis=axis))


def _sample(df: pd.DataFrame, y: np.ndarray, n_rows: int, rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray]:
    """`n_rows` of the rows, drawn without replacement and kept in their order; all of them when fewer."""
    if len(df) <= n_rows:
        return df.reset_index(drop=True), y
    picked = np.sort(rng.choice(len(df), size=n_rows, replace=False))
    return df.iloc[picked].reset_index(drop=True), y[picked]


def _shuffled_rmse(
    stacked: pd.DataFrame,
    feature: str,
    y: np.ndarray,
    predict: Callable[[pd.DataFrame], np.ndarray],
    repeats: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """RMSE of each repeat with `feature` shuffled, shape (repeats,); `stacked` holds the rows `repeats` times."""
    n_rows = len(y)
    original = stacked[feature]
    column = original.iloc[:n_rows]
    stacked[feature] = pd.concat([column.iloc[rng.permutation(n_rows)] for _ in range(repeats)], ignore_index=True)
    try:
        return _rmse(y, np.asarray(predict(stacked)).reshape(repeats, n_rows), axis=1)
    finally:
        stacked[feature] = original


def permutation_importance(
    df: pd.DataFrame,
    y_true: np.ndarray,
    predict: Callable[[pd.DataFrame], np.ndarray],
    features: list[str],
    *,
    repeats: int = REPEATS,
    seed: int = 0,
    max_rows: int = MAX_ROWS,
    max_predictions: int = MAX_PREDICTIONS,
) -> list[dict[str, Any]]:
    """Increase of RMSE when each feature is shuffled, over `repeats` shuffles, most important first.

    Each repeat shuffles one column across the rows and leaves every other column in place.
    The result depends only on the rows, the model and `seed`.

    Args:
        df: Rows with every feature column, as the user named them (before preprocessing).
        y_true: Actual target values, shape (len(df),).
        predict: Predictions in target units from raw rows, shape (n_rows,).
        features: The columns to shuffle, one at a time.
        repeats: Shuffles per feature.
        seed: Seeds the sample of rows and the shuffles.
        max_rows: At most this many rows are used, a seeded sample of `df` when it holds more.
        max_predictions: Fewer rows still where rows x features x repeats would pass this,
            down to `MIN_ROWS`.

    Returns:
        One row per feature: `feature`, `rmse_increase` (mean over repeats, target units; near
        zero or below for a feature the model does not use), `std` (spread over repeats),
        `repeats` and `rows` (the rows used), sorted by `rmse_increase`, largest first.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be positive, got {repeats=}")
    if max_rows < 1 or max_predictions < 1:
        raise ValueError(f"max_rows and max_predictions must be positive, got {max_rows=}, {max_predictions=}")
    y = np.asarray(y_true, dtype="float64")
    if len(y) != len(df):
        raise ValueError(f"y_true has {len(y)} values for {len(df)} rows")
    rng = np.random.default_rng(seed)
    wanted = min(max_rows, max(MIN_ROWS, max_predictions // (repeats * max(len(features), 1))))
    df, y = _sample(df, y, wanted, rng)
    base = float(_rmse(y, predict(df)))
    # All repeats of one feature are predicted in one call: fewer, larger batches.
    stacked = pd.concat([df] * repeats, ignore_index=True)
    rows = []
    for feature in features:
        increases = _shuffled_rmse(stacked, feature, y, predict, repeats, rng) - base
        rows.append(
            {
                "feature": feature,
                "rmse_increase": float(increases.mean()),
                "std": float(increases.std()),
                "repeats": repeats,
                "rows": len(df),
            }
        )
    return sorted(rows, key=lambda row: (-row["rmse_increase"], row["feature"]))


def most_important_of(importance: list[dict[str, Any]], names: list[str]) -> str | None:
    """The first feature of `importance` (most important first) among `names`, or None."""
    return next((row["feature"] for row in importance if row["feature"] in names), None)
