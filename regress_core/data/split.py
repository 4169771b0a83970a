"""Deterministic train / validation / test split."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sklearn.model_selection import train_test_split

from regress_core.errors import DataError

MIN_SPLIT_ROWS = 2


@dataclass(frozen=True)
class Split:
    """The three parts of a table, with their original row order inside each part."""

    train: pd.DataFrame
    val: pd.DataFrame
    test: pd.DataFrame


def split_frame(df: pd.DataFrame, *, test_size: float, val_size: float, seed: int) -> Split:
    """Split a table into train, validation and test.

    The test part equals `train_test_split(df, test_size=test_size, random_state=seed)`'s,
    so with the defaults (0.2, 42) results compare with the classic notebook; validation is
    carved from the remaining train rows with the same seed.

    Args:
        df: The validated table.
        test_size: Fraction of rows held out for test, in (0, 1).
        val_size: Fraction of the remaining rows used for validation, in (0, 1).
        seed: Random seed of both splits.

    Raises:
        DataError: if any part would have fewer than two rows.
    """
    n_test = int(-(-len(df) * test_size // 1))
    n_val = int(-(-(len(df) - n_test) * val_size // 1))
    n_train = len(df) - n_test - n_val
    if min(n_test, n_val, n_train) < MIN_SPLIT_ROWS:
        raise DataError(
            f"too few rows to split: {len(df)} rows give {n_train} train, {n_val} validation "
            f"and {n_test} test rows; each needs at least {MIN_SPLIT_ROWS}"
        )
    train_full, test = train_test_split(df, test_size=test_size, random_state=seed)
    train, val = train_test_split(train_full, test_size=val_size, random_state=seed)
    return Split(train=train, val=val, test=test)
