"""The numbers a model reads from date columns: a scikit-learn transformer, saved with the preprocessor."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import validate_data

from regress_core.data.dates import PARTS, to_days


def part_names(column: str, *, hour: bool) -> list[str]:
    """Names of the numbers derived from one date column, in output order."""
    return [f"{column}_{part}" for part in PARTS if hour or part != "hour"]


class DateParts(TransformerMixin, BaseEstimator):
    """Turns date columns into numbers a model reads: year, month, day of week, day of year, hour, days since.

    Input columns are dates in any form `parse_dates` reads, or float days since 1970-01-01;
    blanks give NaN parts. `hour` (with minutes as its fraction) is derived only for columns
    with a time other than midnight in the fitting rows; `days_since` counts from the first
    day of the fitting rows, kept in `reference_` so later rows are measured from the same
    day. Month is 1-12, day of week 0 (Monday) to 6, day of year 1-366.
    """

    def fit(self, X: Any, y: Any = None) -> DateParts:
        """Learn each column's first day and whether it holds times of day."""
        validate_data(self, X, reset=True, skip_check_array=True)
        days = self._days(X)
        filled = np.isfinite(days)
        firsts = [float(np.floor(col[ok].min())) if ok.any() else 0.0 for col, ok in zip(days.T, filled.T, strict=True)]
        self.reference_ = np.asarray(firsts, dtype="float64")
        self.with_hour_ = np.asarray(
            [bool((np.mod(col[ok], 1.0) > 1e-7).any()) for col, ok in zip(days.T, filled.T, strict=True)]
        )
        return self

    def transform(self, X: Any) -> np.ndarray:
        """The derived numbers, shape (n_rows, len(get_feature_names_out())), float64, NaN for blanks."""
        if not hasattr(self, "reference_"):
            raise NotFittedError("DateParts is not fitted yet; call fit first")
        validate_data(self, X, reset=False, skip_check_array=True)
        days = self._days(X)
        blocks = [
            self._parts(col, reference, bool(hour))
            for col, reference, hour in zip(days.T, self.reference_, self.with_hour_, strict=True)
        ]
        return np.column_stack(blocks) if blocks else np.empty((len(days), 0))

    def _parts(self, days: np.ndarray, reference: float, hour: bool) -> np.ndarray:
        micros = np.where(np.isfinite(days), np.round(days * 86_400e6), 0).astype("int64")
        when = pd.DatetimeIndex(micros.astype("datetime64[us]"))
        blank = ~np.isfinite(days)
        values = {
            "year": when.year.to_numpy(dtype="float64"),
            "month": when.month.to_numpy(dtype="float64"),
            "day_of_week": when.dayofweek.to_numpy(dtype="float64"),
            "day_of_year": when.dayofyear.to_numpy(dtype="float64"),
            "hour": when.hour.to_numpy(dtype="float64") + when.minute.to_numpy(dtype="float64") / 60,
            "days_since": days - reference,
        }
        names = [part for part in PARTS if hour or part != "hour"]
        out = np.column_stack([values[part] for part in names])
        out[blank] = np.nan
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names `<column>_<part>`, in the order `transform` returns them."""
        if not hasattr(self, "reference_"):
            raise NotFittedError("DateParts is not fitted yet; call fit first")
        columns = getattr(self, "feature_names_in_", [f"x{i}" for i in range(self.n_features_in_)])
        names = [
            name
            for column, hour in zip(columns, self.with_hour_, strict=True)
            for name in part_names(str(column), hour=bool(hour))
        ]
        return np.asarray(names, dtype=object)

    def _days(self, X: Any) -> np.ndarray:
        frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X))
        columns = []
        for name in frame.columns:
            column = frame[name]
            numeric = pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
            columns.append(column.to_numpy(dtype="float64", na_value=np.nan) if numeric else to_days(column))
        return np.column_stack(columns) if columns else np.empty((len(frame), 0))
