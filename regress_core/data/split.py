"""Deterministic train / validation / test split: at random, or by time.

A random split draws test and validation rows with a seed. A time split keeps the latest
rows for validation and test (test the very latest), so a model is judged on what came after
everything it learned from, as it will be used; and a retrain on a later window tests on rows
that its champion, trained on an earlier window, has not seen either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa

from regress_core.data.window import utc_times
from regress_core.errors import DataError

MIN_SPLIT_ROWS = 2
SplitStrategy = Literal["random", "time"]
STRATEGY_WORDS = {
    "random": "at random",
    "time": "by time (validation and test are the latest rows)",
}


@dataclass(frozen=True)
class Split:
    """The three parts of a table, with their original row order inside each part."""

    train: pd.DataFrame
    val: pd.DataFrame
    test: pd.DataFrame


def split_sizes(n_rows: int, *, test_size: float, val_size: float) -> tuple[int, int, int]:
    """Rows of train, validation and test for a table of `n_rows` (test and validation rounded up).

    Raises:
        DataError: if any part would have fewer than two rows.
    """
    n_test = int(-(-n_rows * test_size // 1))
    n_val = int(-(-(n_rows - n_test) * val_size // 1))
    n_train = n_rows - n_test - n_val
    if min(n_test, n_val, n_train) < MIN_SPLIT_ROWS:
        raise DataError(
            f"too few rows to split: {n_rows} rows give {n_train} train, {n_val} validation "
            f"and {n_test} test rows; each needs at least {MIN_SPLIT_ROWS}"
        )
    return n_train, n_val, n_test


def split_frame(
    df: pd.DataFrame,
    *,
    test_size: float,
    val_size: float,
    seed: int,
    strategy: SplitStrategy = "random",
    times: pd.Series | None = None,
) -> Split:
    """Split a table into train, validation and test.

    At random, the test part equals `train_test_split(df, test_size=test_size, random_state=seed)`'s,
    so with the defaults (0.2, 42) results compare with the classic notebook; validation is
    carved from the remaining train rows with the same seed. By time, test holds the latest
    rows, validation the latest before them and train the rest, each in time order; ties keep
    the table's order.

    Args:
        df: The validated table.
        test_size: Fraction of rows held out for test, in (0, 1).
        val_size: Fraction of the remaining rows used for validation, in (0, 1).
        seed: Random seed of a random split.
        strategy: `random` or `time`.
        times: Each row's time, aligned with `df`, for a time split; None: the rows are already
            in time order (as a windowed snapshot is, see `order_by_time`).

    Raises:
        DataError: if any part would have fewer than two rows.
    """
    n_train, n_val, _ = split_sizes(len(df), test_size=test_size, val_size=val_size)
    if strategy == "time":
        order = np.arange(len(df)) if times is None else time_order(times)
        ordered = df.iloc[order]
        return Split(
            train=ordered.iloc[:n_train],
            val=ordered.iloc[n_train : n_train + n_val],
            test=ordered.iloc[n_train + n_val :],
        )
    if strategy != "random":
        raise ValueError(f"strategy must be 'random' or 'time', got {strategy=}")
    from sklearn.model_selection import train_test_split  # not with `order_by_time`, which ingest uses

    train_full, test = train_test_split(df, test_size=test_size, random_state=seed)
    train, val = train_test_split(train_full, test_size=val_size, random_state=seed)
    return Split(train=train, val=val, test=test)


def order_by_time(table: pa.Table, column: str, *, timezone: str = "UTC", keep: bool = False) -> pa.Table:
    """A table's rows in order of their time (ties keep their order), without the time column unless kept.

    Args:
        table: Rows that all have a time in `column` (a window's rows).
        column: The time column (naive times are read in `timezone`).
        keep: Keep the time column (it is a feature).
    """
    ordered = table.take(time_order(table.column(column).to_pandas(), timezone=timezone))
    return ordered if keep else ordered.drop_columns([column])


def time_order(times: pd.Series, *, timezone: str = "UTC") -> np.ndarray:
    """Positions that put these times in order, ties in their given order (rows without a time last)."""
    instants = utc_times(times.reset_index(drop=True), timezone=timezone).dt.tz_convert(None)
    return np.argsort(instants.to_numpy(dtype="datetime64[ns]"), kind="stable")
