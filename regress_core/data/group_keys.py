"""Numeric columns that name a group of rows (a person, a route), found on the training rows.

A panel table repeats each person or route over several rows, and its number is stored as a
number. As a number it says nothing: person 412 is not between persons 411 and 413. As a key
it says a lot: the other rows of person 412 tell what person 412 earns. A column is read as a
group key when, on the training rows:

- the contract does not allow it blanks, and its values are integers (of at most 2**53) of
  more than MIN_KEYS distinct values, each held by MIN_ROWS_PER_KEY rows or more on average;
- its cross-fitted target encoding (each row encoded by the other folds' rows of its value)
  explains the target better than the column's values cut into BINS quantile bins, encoded the
  same way, by MIN_GAIN of R2 or more. Bins stand for what a network reads from a number: a
  smooth function of it. A measure such as age or hours, whose values repeat, explains as much
  through its bins as through each value, and stays a number alone.

On the public benchmark tables the gains fall in two groups: person numbers, route ids and a
route's distance gain 0.25 to 0.74, and every other integer column -0.43 to +0.006.
A group key is target-encoded as a categorical column of many categories is, and kept as a
number as well. Where the preprocessor is given the validation rows, a key must also hold most
of their values (`group_keys`' `held_out`): a split by time leaves later periods unseen.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold
from sklearn.preprocessing import TargetEncoder

MIN_KEYS = 20
MIN_ROWS_PER_KEY = 2.0
MIN_GAIN = 0.05
MIN_SEEN_SHARE = 0.5
BINS = 16
FOLDS = 5
MAX_ROWS = 200_000  # rows the gains are measured on (0.12 s a column)
MAX_EXACT = 2.0**53  # integers above this are not exact in float64: distinct keys would merge


def group_key_gains(frame: pd.DataFrame, y: np.ndarray, columns: list[str]) -> dict[str, float]:
    """The R2 gain of each of `columns` that may be a group key (integers, enough repeats), in `columns`' order.

    On a table of more than MAX_ROWS rows the gain is measured on every row of a seeded draw of
    the column's values (whole groups, so that their rows stay together), about MAX_ROWS rows.
    """
    y = np.asarray(y, dtype="float64")
    gains = {}
    for name in columns:
        values = frame[name].to_numpy(dtype="float64")
        if not _repeated_integers(values):
            continue
        rows = _whole_groups(values)
        edges = np.unique(np.quantile(values[rows], np.linspace(0, 1, BINS + 1)[1:-1]))
        binned = np.searchsorted(edges, values[rows], side="right").astype("float64")
        gains[name] = _encoded_r2(values[rows], y[rows]) - _encoded_r2(binned, y[rows])
    return gains


def group_keys(
    frame: pd.DataFrame, y: np.ndarray, columns: list[str], *, held_out: pd.DataFrame | None = None
) -> list[str]:
    """The columns of `columns` that read as group keys on these training rows.

    With `held_out` rows (the validation rows, never their target), a key whose values cover
    less than MIN_SEEN_SHARE of them is left out: on a split by time, a period number (a week's
    index) explains the training rows' target, but every later row would be a group never seen.
    """
    keys = [name for name, gain in group_key_gains(frame, y, columns).items() if gain >= MIN_GAIN]
    if held_out is None or not len(held_out):
        return keys
    return [name for name in keys if seen_share(frame[name], held_out[name]) >= MIN_SEEN_SHARE]


def seen_share(training: pd.Series, later: pd.Series) -> float:
    """The share of `later` values that are among the `training` values."""
    return float(later.isin(set(training.dropna().tolist())).mean()) if len(later) else 1.0


def _repeated_integers(values: np.ndarray) -> bool:
    if not len(values) or not np.isfinite(values).all() or np.abs(values).max() > MAX_EXACT:
        return False
    if not np.array_equal(values, np.round(values)):
        return False
    distinct = len(np.unique(values))
    return distinct > MIN_KEYS and len(values) >= MIN_ROWS_PER_KEY * distinct


def _whole_groups(values: np.ndarray) -> np.ndarray:
    """Indices of every row, or, beyond MAX_ROWS rows, of every row of a seeded draw of the groups."""
    if len(values) <= MAX_ROWS:
        return np.arange(len(values))
    keys, codes = np.unique(values, return_inverse=True)
    drawn = np.random.default_rng(0).random(len(keys)) < MAX_ROWS / len(values)
    return np.flatnonzero(drawn[codes])


def _encoded_r2(codes: np.ndarray, y: np.ndarray) -> float:
    """R2 of the cross-fitted target encoding of `codes` (each row encoded by the other folds' rows)."""
    variance = float(np.var(y))
    if variance == 0 or len(codes) < 2 * FOLDS:
        return 0.0
    encoder = TargetEncoder(target_type="continuous", cv=KFold(FOLDS, shuffle=True, random_state=0))
    encoded = encoder.fit_transform(codes.reshape(-1, 1), y)[:, 0]
    return 1.0 - float(np.mean((y - encoded) ** 2)) / variance
