"""Predictions joined to the true values that arrive later, by a key column."""

from __future__ import annotations

import pandas as pd

from regress_core.config import PREDICTION_COLUMN
from regress_core.data.names import repeated_names
from regress_core.errors import DataError

PREDICTION = PREDICTION_COLUMN
ACTUAL = "actual"  # the joined frame's column of true values (NaN while one is still awaited)


def join_actuals(predictions: pd.DataFrame, actuals: pd.DataFrame, *, key: str, target: str) -> pd.DataFrame:
    """Every prediction with its true value where one has arrived.

    Args:
        predictions: Scored rows: the key, the `prediction` column and whatever else was kept.
        actuals: Rows that carry the key and the true value in `target`.
        key: The column that names a row in both.
        target: The true value's column in `actuals`.

    Returns:
        The predictions, in their order, with an `actual` column: the true value, or NaN for a
        row whose actual has not arrived (or arrived blank).

    Raises:
        DataError: a missing column, or a key that repeats (a join would count its rows twice).
    """
    _require(predictions, [key, PREDICTION], "the predictions")
    _require(actuals, [key, target], "the actuals")
    for frame, what in ((predictions, "the predictions"), (actuals, "the actuals")):
        repeated = repeated_names(frame[key].astype(str).tolist())
        if repeated:
            shown = ", ".join(repeated[:5]) + (" ..." if len(repeated) > 5 else "")
            raise DataError(f"key {key!r} repeats in {what} ({shown}): each row needs a key of its own")
    truth = actuals[[key, target]].rename(columns={target: ACTUAL})
    truth[ACTUAL] = pd.to_numeric(truth[ACTUAL], errors="coerce")
    joined = predictions.merge(truth, on=key, how="left", validate="one_to_one")
    return joined


def _require(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [name for name in columns if name not in frame.columns]
    if missing:
        raise DataError(f"{what} have no column {', '.join(map(repr, missing))} (columns: {', '.join(frame.columns)})")
