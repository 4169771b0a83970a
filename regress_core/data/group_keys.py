"""Numeric columns that name a group of rows (a person, a route), found on the training rows.

A panel table repeats each person or route over several rows, and its number is stored as a
number. As a number it says nothing: person 412 is not between persons 411 and 413. As a key
it says a lot: the other rows of person 412 tell what person 412 earns. A column is read as a
group key when, on the training rows:

- its values are integers, with no blank, of more than MIN_KEYS distinct values, each held by
  MIN_ROWS_PER_KEY rows or more on average;
- its cross-fitted target encoding (each row encoded by the other folds' rows of its value)
  explains the target better than the column's values cut into BINS quantile bins, encoded the
  same way, by MIN_GAIN of R2 or more. Bins stand for what a network reads from a number: a
  smooth function of it. A measure such as age or hours, whose values repeat, explains as much
  through its bins as through each value, and stays a number alone.

On the public benchmark tables the gains fall in two groups: person numbers, route ids and a
route's distance gain 0.25 to 0.74, and every other integer column -0.43 to +0.006.
A group key is target-encoded as a categorical column of many categories is, and kept as a
number as well.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold
from sklearn.preprocessing import TargetEncoder

MIN_KEYS = 20
MIN_ROWS_PER_KEY = 2.0
MIN_GAIN = 0.05
BINS = 16
FOLDS = 5
MAX_ROWS = 200_000  # rows the gains are measured on (0.12 s a column)


def group_key_gains(frame: pd.DataFrame, y: np.ndarray, columns: list[str]) -> dict[str, float]:
    """The R2 gain of each of `columns` that may be a group key (integers, enough repeats), in `columns`' order.

    Measured on MAX_ROWS rows drawn with a fixed seed where there are more.
    """
    rows = np.arange(len(frame))
    if len(rows) > MAX_ROWS:
        rows = np.sort(np.random.default_rng(0).choice(len(rows), MAX_ROWS, replace=False))
    y = np.asarray(y, dtype="float64")[rows]
    gains = {}
    for name in columns:
        values = frame[name].to_numpy(dtype="float64")[rows]
        if not _repeated_integers(values):
            continue
        edges = np.unique(np.quantile(values, np.linspace(0, 1, BINS + 1)[1:-1]))
        binned = np.searchsorted(edges, values, side="right").astype("float64")
        gains[name] = _encoded_r2(values, y) - _encoded_r2(binned, y)
    return gains


def group_keys(frame: pd.DataFrame, y: np.ndarray, columns: list[str]) -> list[str]:
    """The columns of `columns` that read as group keys on these training rows."""
    return [name for name, gain in group_key_gains(frame, y, columns).items() if gain >= MIN_GAIN]


def _repeated_integers(values: np.ndarray) -> bool:
    if not len(values) or not np.isfinite(values).all() or not np.array_equal(values, np.round(values)):
        return False
    distinct = len(np.unique(values))
    return distinct > MIN_KEYS and len(values) >= MIN_ROWS_PER_KEY * distinct


def _encoded_r2(codes: np.ndarray, y: np.ndarray) -> float:
    """R2 of the cross-fitted target encoding of `codes` (each row encoded by the other folds' rows)."""
    variance = float(np.var(y))
    if variance == 0:
        return 0.0
    encoder = TargetEncoder(target_type="continuous", cv=KFold(FOLDS, shuffle=True, random_state=0))
    encoded = encoder.fit_transform(codes.reshape(-1, 1), y)[:, 0]
    return 1.0 - float(np.mean((y - encoded) ** 2)) / variance
