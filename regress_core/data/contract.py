"""The data contract: the one declaration of what a training or scoring table must hold.

The Great Expectations suite, the scoring-time checks and the docs are all derived from it.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from regress_core.data.dates import date_text_share, is_date_dtype, parse_dates
from regress_core.data.names import repeated_names
from regress_core.errors import ConfigError, DataError
from regress_core.fileio import read_yaml

ColumnKind = Literal["numeric", "categorical", "datetime", "identifier"]
ID_NAME = re.compile(r"(^|[_\W])(id|key|uuid)$", re.IGNORECASE)
MAX_CATEGORIES = 50
STRAY_SHARE = 0.5
# What the model reads from a datetime column, in words (`DateParts` derives it).
DATE_PARTS_TEXT = (
    "as year, month, day of week, day of year, hour where times are set, days since the first training date"
)


class ColumnSpec(BaseModel):
    """One column: its name, kind, nullability and allowed range.

    Kinds: "numeric" (numbers), "categorical" (text of few values), "datetime" (ISO dates or
    date-times, or a typed date column; the model reads numbers derived from it), and
    "identifier" (a unique key, kept out of the features).
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: str
    kind: ColumnKind = "numeric"
    nullable: bool = False
    min: float | None = Field(None, description="Smallest allowed value (inclusive, numeric).")
    max: float | None = Field(None, description="Largest allowed value (inclusive, numeric).")
    categories: list[str] | None = Field(None, description="Categories seen in training (categorical).")
    description: str | None = None

    @model_validator(mode="after")
    def _check_range(self) -> ColumnSpec:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"column {self.name}: min {self.min} is above max {self.max}")
        if self.kind != "numeric" and (self.min is not None or self.max is not None):
            raise ValueError(f"column {self.name}: min and max apply to numeric columns only")
        return self


class DataContract(BaseModel):
    """Columns, target and size every table of a dataset must satisfy."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: str = "dataset"
    target: str
    columns: list[ColumnSpec]
    min_rows: int = Field(20, ge=1, description="Fewest rows a training table may have.")
    missing_tokens: list[str] = Field(
        default_factory=list, description='Text that means "blank" in any column, e.g. ["n/a", "-"].'
    )

    @model_validator(mode="after")
    def _check_columns(self) -> DataContract:
        names = [column.name for column in self.columns]
        duplicates = repeated_names(names)
        if duplicates:
            raise ValueError(f"columns listed twice: {', '.join(duplicates)}")
        if self.target not in names:
            raise ValueError(f"target {self.target!r} is not among the columns")
        if self.column(self.target).kind != "numeric":
            raise ValueError(f"target {self.target!r} must be numeric")
        if self.column(self.target).nullable:
            raise ValueError(f"target {self.target!r} cannot be nullable")
        if not self.feature_names:
            raise ValueError("a contract needs the target and at least one feature column")
        return self

    @property
    def feature_names(self) -> list[str]:
        """Model inputs: every column but the target and identifiers."""
        return [c.name for c in self.columns if c.name != self.target and c.kind != "identifier"]

    def names_of(self, kind: str) -> list[str]:
        """Feature columns of one kind."""
        return [name for name in self.feature_names if self.column(name).kind == kind]

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    def column(self, name: str) -> ColumnSpec:
        return next(column for column in self.columns if column.name == name)

    def for_target(self, target: str | None) -> DataContract:
        """Return this contract with another target column, checking it exists."""
        if target is None or target == self.target:
            return self
        if target not in self.column_names:
            raise ConfigError(
                f"target column {target!r} is not in the data contract (columns: {', '.join(self.column_names)})"
            )
        return self.model_copy(update={"target": target})


def select_features(contract: DataContract, features: list[str] | None) -> DataContract:
    """Restrict a contract to the given feature columns plus its target."""
    if features is None:
        return contract
    if contract.target in features:
        raise ConfigError(f"target {contract.target!r} is also listed in data.features")
    unknown = [name for name in features if name not in contract.column_names]
    if unknown:
        raise ConfigError(f"data.features names columns not in the data contract: {', '.join(unknown)}")
    keep = set(features) | {contract.target}
    return contract.model_copy(update={"columns": [c for c in contract.columns if c.name in keep]})


def _widen(low: float, high: float, *, margin: float) -> tuple[float | None, float | None]:
    span = high - low
    pad = margin * span if span > 0 else max(abs(high), 1.0) * margin
    new_low = low - pad
    if low >= 0 > new_low:
        new_low = 0.0
    return _round_down(new_low), _round_up(high + pad)


def _round_down(value: float) -> float:
    return math.floor(value * 1e6) / 1e6


def _round_up(value: float) -> float:
    return math.ceil(value * 1e6) / 1e6


def infer_contract(df: pd.DataFrame, *, target: str, name: str = "dataset", margin: float = 0.1) -> DataContract:
    """Infer a starting contract from a table known to be good.

    Numeric columns get their observed range widened by `margin` of its span on each side
    (never below zero for non-negative columns); text columns with few distinct values
    become categorical; unique keys (all distinct, named like an id) become identifiers,
    which are kept out of the features; columns with blanks become nullable. Date columns
    (datetime64 or Python dates) and text columns whose every filled value is an ISO date
    or date-time written in one shape (see `regress_core.data.dates`) become datetime.

    Raises:
        DataError: for a missing, non-numeric or blank target, or a column of numbers or of
            dates with stray text (at least half its filled values numbers, or dates, and not
            all): declare such tokens in `missing_tokens` to treat them as blanks.
    """
    if target not in df.columns:
        raise DataError(f"target column {target!r} not found (columns: {', '.join(map(str, df.columns))})")
    columns = [_infer_column(str(column), df[column], n_rows=len(df), margin=margin) for column in df.columns]
    spec = next(c for c in columns if c.name == target)
    if spec.kind != "numeric":
        raise DataError(f"target column {target!r} is not numeric (values such as {_examples(df[target])})")
    if spec.nullable:
        raise DataError(f"target column {target!r} has {int(df[target].isna().sum())} blank values")
    return DataContract(name=name, target=target, columns=columns)


def _examples(series: pd.Series, limit: int = 3) -> str:
    return ", ".join(repr(v) for v in series.dropna().astype(str).unique()[:limit])


def _infer_column(name: str, series: pd.Series, *, n_rows: int, margin: float) -> ColumnSpec:
    nullable = bool(series.isna().any())
    if is_date_dtype(series):
        return ColumnSpec(name=name, kind="datetime", nullable=nullable)
    if pd.api.types.is_bool_dtype(series):
        series = series.astype("string")
    if not pd.api.types.is_numeric_dtype(series):
        parsed = pd.to_numeric(series, errors="coerce")
        filled = series.notna()
        stray = series[filled & parsed.isna()]
        if filled.any() and len(stray) and parsed[filled].notna().mean() >= STRAY_SHARE:
            raise DataError(
                f"column {name!r} holds numbers and stray text such as {_examples(stray)} "
                f"({len(stray)} rows); fix the file or declare the tokens as missing_tokens in a contract"
            )
        if filled.any() and not len(stray):
            series = parsed  # numbers written as text (a Parquet string column) are numbers
        elif _is_date_text(name, series):
            return ColumnSpec(name=name, kind="datetime", nullable=nullable)
        else:
            distinct = series.dropna().astype(str).unique()
            if len(distinct) == filled.sum() and (ID_NAME.search(name) or len(distinct) > MAX_CATEGORIES):
                return ColumnSpec(name=name, kind="identifier", nullable=nullable)
            return ColumnSpec(name=name, kind="categorical", nullable=nullable, categories=sorted(map(str, distinct)))
    if ID_NAME.search(name) and series.notna().all() and series.is_unique and n_rows > 1:
        return ColumnSpec(name=name, kind="identifier")
    values = series.to_numpy(dtype="float64", na_value=np.nan)
    finite = values[np.isfinite(values)]
    bounds = _widen(float(finite.min()), float(finite.max()), margin=margin) if finite.size else (None, None)
    return ColumnSpec(name=name, nullable=nullable, min=bounds[0], max=bounds[1])


def _is_date_text(name: str, series: pd.Series) -> bool:
    share, stray = date_text_share(series)
    if len(stray) > 0 and share >= STRAY_SHARE:
        raise DataError(
            f"column {name!r} holds ISO dates and stray text such as {_examples(stray)} ({len(stray)} rows; "
            "dates must share one shape, such as 2024-01-31 or 2024-01-31 08:00:00); "
            "fix the file or declare the tokens as missing_tokens in a contract"
        )
    return share == 1.0


def normalize_frame(df: pd.DataFrame, contract: DataContract) -> pd.DataFrame:
    """The table as the contract reads it: missing tokens blank, numbers parsed where possible.

    Numeric columns keep stray text as text (so validation can name it); categorical
    columns become text; datetime columns become naive date-times (zoned ones in UTC), or,
    where some value is not a date, Timestamps with that value kept as it is; other columns
    are untouched. Columns that need no change are not copied, so an all-numeric batch
    passes through at no cost.
    """
    changed = {}
    for spec in contract.columns:
        if spec.name not in df.columns:
            continue
        column = df[spec.name]
        textual = column.dtype == object or pd.api.types.is_string_dtype(column)
        if spec.kind == "numeric" and not textual and not pd.api.types.is_bool_dtype(column):
            continue
        if contract.missing_tokens and textual:
            column = column.astype(object).where(~column.isin(contract.missing_tokens), None)
        if spec.kind == "numeric":
            numbers = pd.to_numeric(column, errors="coerce")
            filled = column.notna()
            if pd.api.types.is_bool_dtype(column):
                column = column.astype(object)
            elif filled.any() and numbers[filled].notna().all():
                column = numbers
            else:
                column = numbers.astype(object).where(numbers.notna() | ~filled, column.astype(object))
        elif spec.kind == "categorical":
            column = column.astype(object).where(column.isna(), column.astype(str))
        elif spec.kind == "datetime":
            dates = parse_dates(column)
            stray = column.notna() & dates.isna()
            column = dates.astype(object).where(~stray, column.astype(object)) if stray.any() else dates
        changed[spec.name] = column
    return df.assign(**changed) if changed else df


def describe_contract(contract: DataContract) -> str:
    """One line saying what a contract holds, for a person to check an inferred one."""
    parts = [f"target {contract.target}"]
    derived = f" ({DATE_PARTS_TEXT})"
    for kind, suffix in (
        ("numeric", ""),
        ("categorical", ""),
        ("datetime", derived),
        ("identifier", " (not a feature)"),
    ):
        names = [
            c.name
            + (" (nullable)" if c.nullable else "")
            + (f" ({len(c.categories)} categories)" if c.categories else "")
            for c in contract.columns
            if c.kind == kind and c.name != contract.target
        ]
        if names:
            parts.append(f"{kind} {', '.join(names)}{suffix}")
    return "; ".join(parts)


def load_contract(path: str | Path) -> DataContract:
    """Read a contract from YAML, with a one-line error for a bad file."""
    raw = read_yaml(path, what="data contract")
    try:
        return DataContract.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "contract"
        raise ConfigError(f"invalid data contract {path}: {where}: {first['msg']}") from exc


def dump_contract(contract: DataContract) -> str:
    """Render a contract as YAML for a person to read and edit."""
    body = contract.model_dump(mode="json", exclude_none=True)
    return yaml.safe_dump(body, sort_keys=False)
