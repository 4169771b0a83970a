"""Predictions joined to the true values that arrive later, by a key of one or more columns."""

from __future__ import annotations

import pandas as pd

from regress_core.config import PREDICTION_COLUMN
from regress_core.data.names import repeated_names
from regress_core.errors import DataError

PREDICTION = PREDICTION_COLUMN
ACTUAL = "actual"  # the joined frame's column of true values (NaN while one is still awaited)


def join_actuals(
    predictions: pd.DataFrame, actuals: pd.DataFrame, *, key: str | list[str], target: str
) -> pd.DataFrame:
    """Every prediction with its true value where one has arrived.

    Args:
        predictions: Scored rows: the key, the `prediction` column and whatever else was kept.
        actuals: Rows that carry the key and the true value in `target`.
        key: The column (or columns together) that names a row in both.
        target: The true value's column in `actuals`.

    Returns:
        The predictions, in their order, with an `actual` column: the true value, or NaN for a
        row whose actual has not arrived (or arrived blank).

    Raises:
        DataError: a missing column, a key that repeats (a join would count its rows twice), a
            key that holds numbers on one side and text on the other, or a target that is not numeric.
    """
    columns = key_columns(key)
    _require(predictions, [*columns, PREDICTION], "the predictions")
    _require(actuals, [*columns, target], "the actuals")
    for frame, what in ((predictions, "the predictions"), (actuals, "the actuals")):
        repeated = repeated_names(_key_text(frame, columns))
        if repeated:
            shown = ", ".join(repeated[:5]) + (" ..." if len(repeated) > 5 else "")
            raise DataError(f"key {describe_key(key)} repeats in {what} ({shown}): each row needs a key of its own")
    for column in columns:
        kinds = {what: _kind(frame[column]) for frame, what in ((predictions, "predictions"), (actuals, "actuals"))}
        if len(actuals) and len(set(kinds.values())) > 1:
            raise DataError(
                f"key {column!r} holds {kinds['predictions']} in the predictions and {kinds['actuals']} in the "
                "actuals: no row could match; write the key the same way on both sides"
            )
    truth = actuals[[*columns, target]].rename(columns={target: ACTUAL})
    truth[ACTUAL] = _numeric(truth[ACTUAL], target)
    return predictions.merge(truth, on=columns, how="left", validate="one_to_one")


def unmatched_actuals(predictions: pd.DataFrame, actuals: pd.DataFrame, *, key: str | list[str]) -> int:
    """How many actuals name a key that no prediction has (scored elsewhere, or not scored at all)."""
    columns = key_columns(key)
    known = set(_key_text(predictions, columns))
    return sum(1 for value in _key_text(actuals, columns) if value not in known)


def key_columns(key: str | list[str]) -> list[str]:
    """The key's columns: `house_id`, or `ts,Latitude,Longitude` for several together."""
    names = key.split(",") if isinstance(key, str) else list(key)
    return [name.strip() for name in names if name.strip()]


def describe_key(key: str | list[str]) -> str:
    columns = key_columns(key)
    return repr(columns[0]) if len(columns) == 1 else "(" + ", ".join(columns) + ")"


def _key_text(frame: pd.DataFrame, columns: list[str]) -> list[str]:
    if len(columns) == 1:
        return frame[columns[0]].astype(str).tolist()
    return ["|".join(map(str, values)) for values in frame[columns].itertuples(index=False)]


def _kind(values: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(values):
        return "true/false values"
    if pd.api.types.is_datetime64_any_dtype(values):
        return "times"
    return "numbers" if pd.api.types.is_numeric_dtype(values) else "text"


def _numeric(values: pd.Series, target: str) -> pd.Series:
    """The true values as floats; blanks stay NaN (not arrived yet)."""
    if pd.api.types.is_bool_dtype(values) or not (pd.api.types.is_numeric_dtype(values) or values.isna().all()):
        sample = next((repr(value) for value in values.dropna().head(1)), "")
        raise DataError(
            f"the actuals' column {target!r} holds {_kind(values)} such as {sample}, not numbers: "
            "it cannot be compared with the predictions"
        )
    return values.astype("float64")


def _require(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [name for name in columns if name not in frame.columns]
    if missing:
        raise DataError(f"{what} have no column {', '.join(map(repr, missing))} (columns: {', '.join(frame.columns)})")
