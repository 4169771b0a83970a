"""Row fingerprints: one 64-bit hash per row of its feature and target values.

A package records the fingerprints of the rows it was trained and validated on, so a later
comparison can leave out test rows a model has already seen. Values are normalised before
hashing so the same row hashes alike across snapshots and file formats: numbers (and
booleans) as float64, everything else as text, blanks as one marker. Columns are taken in
sorted order of their names, so column order in the file does not matter.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

BLANK = "\x00blank"


def _normalised(series: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        values = pd.to_numeric(series, errors="coerce").astype("float64")
        return values.where(values != 0, 0.0)  # -0.0 and 0.0 are one value
    return series.astype("string").fillna(BLANK).astype(object)


def row_fingerprints(df: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """One uint64 per row of `df` over `columns` (which must all be present), shape (n_rows,)."""
    names = sorted(columns)
    frame = pd.DataFrame({name: _normalised(df[name]) for name in names})
    frame.columns = names
    return pd.util.hash_pandas_object(frame, index=False).to_numpy(dtype=np.uint64)


def save_fingerprints(path: Path, fingerprints: np.ndarray) -> None:
    """Write sorted, distinct fingerprints as a plain .npy array (no pickle)."""
    np.save(path, np.unique(fingerprints.astype(np.uint64)), allow_pickle=False)


def load_fingerprints(path: Path) -> np.ndarray:
    """Read fingerprints written by `save_fingerprints`."""
    values = np.load(path, allow_pickle=False)
    if values.dtype != np.uint64 or values.ndim != 1:
        raise ValueError(f"{path} holds no row fingerprints")
    return values


def seen_mask(fingerprints: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """True where a fingerprint is among the sorted `seen` ones."""
    return np.isin(fingerprints, seen, assume_unique=False)
