"""Fast row-level checks of scoring input, derived from the same data contract as training.

Training tables go through the Great Expectations suite; scoring streams millions of rows,
so the same rules (columns present, numeric, not blank where not nullable, finite, in range)
run here as vectorised NumPy checks per batch, with a reason for every rejected row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from regress_core.contract import DataContract
from regress_core.errors import DataError


@dataclass(frozen=True)
class BatchCheck:
    """Which rows of a batch are valid, and why the others are not."""

    valid: np.ndarray  # bool, shape (n_rows,)
    reasons: np.ndarray  # object, shape (n_rows,); "" for valid rows
    numeric: pd.DataFrame  # the feature columns as float64, invalid entries NaN

    @property
    def n_invalid(self) -> int:
        return int((~self.valid).sum())

    def first_problems(self, limit: int = 3) -> str:
        rows = np.flatnonzero(~self.valid)[:limit]
        return "; ".join(f"row {row}: {self.reasons[row]}" for row in rows)


def require_columns(columns: list[str], contract: DataContract, *, where: str) -> None:
    """Fail at once if the input lacks a feature column of the contract."""
    missing = [name for name in contract.feature_names if name not in columns]
    if missing:
        raise DataError(f"{where} is missing feature columns: {', '.join(missing)}")


def _append(reasons: np.ndarray, mask: np.ndarray, text: str) -> None:
    if mask.any():
        current = reasons[mask]
        reasons[mask] = np.where(current == "", text, current + "; " + text)


def check_batch(df: pd.DataFrame, contract: DataContract) -> BatchCheck:
    """Apply the contract's feature rules to every row of a batch.

    Args:
        df: The batch; must hold every feature column (see `require_columns`).
        contract: The data contract the model was trained under.
    """
    n_rows = len(df)
    reasons = np.full(n_rows, "", dtype=object)
    numeric = {}
    for name in contract.feature_names:
        spec = contract.column(name)
        raw = df[name]
        if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
            values = raw.to_numpy(dtype="float64", na_value=np.nan)
            not_number = np.zeros(n_rows, dtype=bool)
        else:
            parsed = pd.to_numeric(raw, errors="coerce")
            values = parsed.to_numpy(dtype="float64", na_value=np.nan)
            not_number = raw.notna().to_numpy() & np.isnan(values)
        blank = np.isnan(values) & ~not_number
        _append(reasons, not_number, f"{name} is not numeric")
        if not spec.nullable:
            _append(reasons, blank, f"{name} is blank")
        _append(reasons, np.isinf(values), f"{name} is not finite")
        with np.errstate(invalid="ignore"):
            if spec.min is not None:
                _append(reasons, values < spec.min, f"{name} below {spec.min:g}")
            if spec.max is not None:
                _append(reasons, (values > spec.max) & np.isfinite(values), f"{name} above {spec.max:g}")
        numeric[name] = values
    valid = reasons == ""
    return BatchCheck(valid=valid, reasons=reasons, numeric=pd.DataFrame(numeric, index=df.index))
