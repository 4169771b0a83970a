"""Columns of dates and date-times: recognising them and reading them (`date_parts` derives numbers).

A text value is a date when it is an ISO 8601 date or date-time: `YYYY-MM-DD`, optionally
followed by `T` or a space and `HH:MM`, `HH:MM:SS` or `HH:MM:SS.ffffff`, optionally ending in
`Z` or an offset such as `+02:00`. Nothing else is read as a date, so numbers, zip codes, ids
and day-first or month-first text (`01/02/2020`) never are. Times with an offset or a time
zone are read as UTC; naive times are taken as written. A text column is inferred as dates
when its filled values are such dates written in one shape (`date_text_share`).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?")
# What tells one written shape from another: the date-time separator, seconds, fraction, zone.
SHAPE = r"^\d{4}-\d{2}-\d{2}(?P<sep>[T ]?)(?:\d{2}:\d{2})?(?P<sec>:\d{2})?(?P<frac>\.\d+)?(?P<zone>Z|[+-].*)?$"
UNIT = "datetime64[us]"
EPOCH = np.datetime64("1970-01-01", "us")
PARTS = ("year", "month", "day_of_week", "day_of_year", "hour", "days_since")  # derived by DateParts
SAMPLE = 1000  # a column is checked on its first filled values before all of them


def is_date_dtype(series: pd.Series) -> bool:
    """True for a column typed as dates: datetime64 (naive or zoned) or Python dates and date-times."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return True
    if series.dtype != object:
        return False
    return pd.api.types.infer_dtype(series, skipna=True) in ("date", "datetime", "datetime64")


def date_text_share(series: pd.Series) -> tuple[float, pd.Series]:
    """How much of a text column is ISO dates of one written shape.

    Returns:
        The share of filled values that are valid ISO dates or date-times written in the
        column's most common shape (0.0 for a column without filled values), and the filled
        values that are not.
    """
    filled = series.dropna().reset_index(drop=True)
    if filled.empty or pd.api.types.infer_dtype(filled, skipna=True) != "string":
        return 0.0, filled
    text = filled.astype(str).str.strip()
    head = text.iloc[:SAMPLE]
    if head.str.fullmatch(ISO_DATE.pattern).mean() < 0.5:  # cheap refusal for the many columns of other text
        return 0.0, filled
    valid = text.str.fullmatch(ISO_DATE.pattern) & _parse_text(text).notna()
    shapes = text[valid].str.extract(SHAPE).fillna("").agg("|".join, axis=1)
    if len(shapes):
        valid &= shapes.reindex(text.index, fill_value="") == shapes.mode().iloc[0]
    return float(valid.mean()), filled[~valid]


def parse_dates(series: pd.Series) -> pd.Series:
    """A column as naive date-times (zoned ones in UTC), NaT where blank or not a date.

    Accepts datetime64 columns, Python dates and date-times, and ISO 8601 text (see the
    module's docstring); any other value becomes NaT, so `series.notna() & result.isna()`
    marks the values that are not dates.
    """
    if pd.api.types.is_datetime64_any_dtype(series):
        return _naive(series).astype(UNIT)
    kind = pd.api.types.infer_dtype(series, skipna=True)
    if kind in ("date", "datetime", "datetime64"):
        return _naive(pd.to_datetime(series, errors="coerce", utc=True)).astype(UNIT)
    values = series.to_numpy(dtype=object)
    filled = pd.notna(values)
    if kind == "string":
        is_text = filled
    else:
        is_text = np.fromiter((isinstance(value, str) for value in values), dtype=bool, count=len(values))
    out = np.full(len(values), np.datetime64("NaT"), dtype=UNIT)
    if is_text.any():
        text = pd.Series(values[is_text], dtype=object).astype(str).str.strip()
        iso = text.str.fullmatch(ISO_DATE.pattern).to_numpy(dtype=bool)
        out[np.flatnonzero(is_text)[iso]] = _parse_text(text[iso]).to_numpy(dtype=UNIT)
    others = np.flatnonzero(filled & ~is_text)
    others = others[[hasattr(values[row], "year") for row in others]]
    if len(others):
        stamps = pd.to_datetime(pd.Series(values[others], dtype=object), errors="coerce", utc=True)
        out[others] = _naive(stamps).to_numpy(dtype=UNIT)
    return pd.Series(out, index=series.index, name=series.name)


def _parse_text(text: pd.Series) -> pd.Series:
    return _naive(pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)).astype(UNIT)


def _naive(times: pd.Series) -> pd.Series:
    return times.dt.tz_convert("UTC").dt.tz_localize(None) if times.dt.tz is not None else times


def to_days(series: pd.Series) -> np.ndarray:
    """Dates as float days since 1970-01-01 (the time of day as a fraction), NaN where not a date; shape (n_rows,)."""
    stamps = parse_dates(series).to_numpy(dtype=UNIT)
    days = (stamps - EPOCH) / np.timedelta64(1, "D")
    return np.where(np.isnat(stamps), np.nan, days).astype("float64")
