"""Fast row-level checks of scoring input, derived from the same data contract as training.

Training tables go through the Great Expectations suite; scoring streams millions of rows,
so the same rules (columns present, numeric, dates that parse, not blank where not nullable,
finite, in range) run here as vectorised NumPy checks per batch, with a reason for every rejected row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from regress_core.data.contract import DataContract, normalize_frame
from regress_core.data.dates import parse_dates


@dataclass(frozen=True)
class BatchCheck:
    """Which rows of a batch are valid, and why the others are not."""

    valid: np.ndarray  # bool, shape (n_rows,)
    reasons: np.ndarray  # object, shape (n_rows,); "" for valid rows
    # The feature columns: numbers as float64 (invalid entries NaN), categories as text, dates as
    # naive datetime64 (NaT where blank or not a date).
    numeric: pd.DataFrame

    @property
    def n_invalid(self) -> int:
        return int((~self.valid).sum())

    def first_problems(self, limit: int = 3, *, first_row: int = 0) -> str:
        """The first invalid rows and why, numbered from `first_row` (the batch's place in its file)."""
        rows = np.flatnonzero(~self.valid)[:limit]
        return "; ".join(f"row {first_row + row}: {self.reasons[row]}" for row in rows)


def check_batch(df: pd.DataFrame, contract: DataContract) -> BatchCheck:
    """Apply the contract's feature rules to every row of a batch.

    Args:
        df: The batch; must hold every feature column.
        contract: The data contract the model was trained under.
    """
    n_rows = len(df)
    bad: list[tuple[np.ndarray, str]] = []
    clean = {}  # only the columns that needed converting; the rest are used as they are
    frame = normalize_frame(df[contract.feature_names], contract) if contract.missing_tokens else df
    for name in contract.feature_names:
        spec = contract.column(name)
        raw = frame[name]
        if spec.kind == "categorical":
            if not spec.nullable:
                bad.append((raw.isna().to_numpy(), f"{name} is blank"))
            clean[name] = raw.astype(object).where(raw.isna(), raw.astype(str))
            continue
        if spec.kind == "datetime":
            clean[name] = _check_dates(raw, name, nullable=spec.nullable, bad=bad)
            continue
        if pd.api.types.is_float_dtype(raw) and raw.dtype == np.float64:
            values = raw.to_numpy()
            not_number = None
        elif pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
            values = raw.to_numpy(dtype="float64", na_value=np.nan)
            not_number = None
            clean[name] = values
        else:
            values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
            not_number = raw.notna().to_numpy() & np.isnan(values)
            bad.append((not_number, f"{name} is not numeric"))
            clean[name] = values
        if not spec.nullable:
            blank = np.isnan(values) if not_number is None else np.isnan(values) & ~not_number
            bad.append((blank, f"{name} is blank"))
        bad.append((np.isinf(values), f"{name} is not finite"))
        with np.errstate(invalid="ignore"):
            if spec.min is not None:
                bad.append((values < spec.min, f"{name} below {spec.min:g}"))
            if spec.max is not None:
                bad.append(((values > spec.max) & np.isfinite(values), f"{name} above {spec.max:g}"))
    invalid = np.zeros(n_rows, dtype=bool)
    for mask, _ in bad:
        invalid |= mask
    reasons = np.full(n_rows, "", dtype=object)
    if invalid.any():  # reasons are spelled out only for the (rare) invalid rows
        for mask, text in bad:
            rows = np.flatnonzero(mask)
            reasons[rows] = [text if not r else f"{r}; {text}" for r in reasons[rows]]
    features = frame[contract.feature_names]
    return BatchCheck(valid=~invalid, reasons=reasons, numeric=features.assign(**clean) if clean else features)


def _check_dates(raw: pd.Series, name: str, *, nullable: bool, bad: list[tuple[np.ndarray, str]]) -> pd.Series:
    """A datetime feature as naive date-times; adds rows that are not dates (or blank where not allowed) to `bad`."""
    dates = parse_dates(raw)
    filled = raw.notna().to_numpy()
    bad.append((filled & dates.isna().to_numpy(), f"{name} is not an ISO date or date-time"))
    if not nullable:
        bad.append((~filled, f"{name} is blank"))
    return dates
