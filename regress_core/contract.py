"""The data contract: the one declaration of what a training or scoring table must hold.

The Great Expectations suite, the scoring-time checks and the docs are all derived from it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from regress_core.errors import ConfigError, DataError

ColumnKind = Literal["numeric"]


class ColumnSpec(BaseModel):
    """One column: its name, kind, nullability and allowed range."""

    model_config = ConfigDict(extra="forbid")

    name: str
    kind: ColumnKind = "numeric"
    nullable: bool = False
    min: float | None = Field(None, description="Smallest allowed value (inclusive).")
    max: float | None = Field(None, description="Largest allowed value (inclusive).")
    description: str | None = None

    @model_validator(mode="after")
    def _check_range(self) -> ColumnSpec:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"column {self.name}: min {self.min} is above max {self.max}")
        return self


class DataContract(BaseModel):
    """Columns, target and size every table of a dataset must satisfy."""

    model_config = ConfigDict(extra="forbid")

    name: str = "dataset"
    target: str
    columns: list[ColumnSpec]
    min_rows: int = Field(20, ge=1, description="Fewest rows a training table may have.")

    @model_validator(mode="after")
    def _check_columns(self) -> DataContract:
        names = [column.name for column in self.columns]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"columns listed twice: {', '.join(duplicates)}")
        if self.target not in names:
            raise ValueError(f"target {self.target!r} is not among the columns")
        if len(names) < 2:
            raise ValueError("a contract needs the target and at least one feature column")
        return self

    @property
    def feature_names(self) -> list[str]:
        return [column.name for column in self.columns if column.name != self.target]

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
                f"target column {target!r} is not in the data contract "
                f"(columns: {', '.join(self.column_names)})"
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


def infer_contract(
    df: pd.DataFrame, *, target: str, name: str = "dataset", margin: float = 0.1
) -> DataContract:
    """Infer a starting contract from a table known to be good.

    Ranges are the observed ranges widened by `margin` of their span on each side (never
    below zero for non-negative columns), so that new data a little outside is accepted.

    Args:
        df: A good sample of the data.
        target: The target column.
        name: Dataset name recorded in the contract.
        margin: Fraction of each column's span added to its observed range.

    Raises:
        DataError: if the target is missing or a column is not numeric.
    """
    if target not in df.columns:
        raise DataError(f"target column {target!r} not found (columns: {', '.join(map(str, df.columns))})")
    columns = []
    for column_name in df.columns:
        series = df[column_name]
        if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            examples = ", ".join(repr(v) for v in series.dropna().astype(str).unique()[:3])
            raise DataError(f"column {column_name!r} is not numeric (values such as {examples})")
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        finite = values[np.isfinite(values)]
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (None, None)
        bounds = _widen(low, high, margin=margin) if low is not None else (None, None)
        columns.append(
            ColumnSpec(
                name=str(column_name),
                nullable=bool(series.isna().any()),
                min=bounds[0],
                max=bounds[1],
            )
        )
    return DataContract(name=name, target=target, columns=columns)


def load_contract(path: str | Path) -> DataContract:
    """Read a contract from YAML, with a one-line error for a bad file."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"data contract not found: {path}") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read data contract {path}: {str(exc).splitlines()[0]}") from None
    try:
        return DataContract.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "contract"
        raise ConfigError(f"invalid data contract {path}: {where}: {first['msg']}") from None


def dump_contract(contract: DataContract) -> str:
    """Render a contract as YAML for a person to read and edit."""
    body = contract.model_dump(mode="json", exclude_none=True)
    return yaml.safe_dump(body, sort_keys=False)
