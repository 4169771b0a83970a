"""Small typed records that pipeline stages hand each other instead of frames."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from regress_core.data.tables import read_parquet, write_parquet
from regress_core.errors import DataError
from regress_core.fileio import sha256_file
from regress_core.model.spec import ModelSpec
from regress_core.registry.gate import Decision


@dataclass(frozen=True)
class TableRef:
    """A Parquet file with its content hash and row count."""

    path: str
    sha256: str
    rows: int
    key: str = ""

    def read(self) -> pd.DataFrame:
        """Read the table, refusing a file that changed since it was recorded."""
        path = Path(self.path)
        if not path.is_file() or sha256_file(path) != self.sha256:
            raise DataError(f"cached table {path} is missing or changed; re-run with --refresh-cache")
        return read_parquet(path)


def save_table(df: pd.DataFrame, path: Path, *, key: str = "") -> TableRef:
    """Write a frame as Parquet atomically and return its reference."""
    write_parquet(df, path)
    return TableRef(path=str(path), sha256=sha256_file(path), rows=len(df), key=key)


@dataclass(frozen=True)
class ValidatedTable:
    """A table that passed its contract, with the contract used."""

    table: TableRef
    contract_path: str
    contract_sha256: str
    docs_path: str | None
    n_expectations: int
    key: str
    inferred: str | None = None  # what was inferred, when no contract was given


@dataclass(frozen=True)
class SplitTables:
    train: TableRef
    val: TableRef
    test: TableRef
    key: str


@dataclass(frozen=True)
class ScaledTables:
    """Model-ready tables (scaled features and target) and the fitted preprocessor.

    `train` and `val` hold the configured feature view, `train_standard` and `val_standard`
    the standardised one (the same files when the configured scaler is standard).
    `indicators` are the inputs that are 0/1 by construction; `target_std` converts scaled
    target units back to the target's.
    """

    train: TableRef
    val: TableRef
    train_standard: TableRef
    val_standard: TableRef
    preprocessor_path: str
    preprocessor_sha256: str
    indicators: tuple[int, ...]
    target_std: float
    key: str


@dataclass(frozen=True)
class TrainedModel:
    weights_path: str
    weights_sha256: str
    spec: ModelSpec
    history: list[dict[str, float]]
    summary: dict[str, Any]
    key: str


@dataclass(frozen=True)
class Evaluation:
    metrics: dict[str, float]
    baselines: dict[str, dict[str, float]]
    plots: dict[str, str] = field(default_factory=dict)
    key: str = ""


@dataclass(frozen=True)
class TrainingOutcome:
    """What a training run produced and decided, for the command line and for callers of the flow."""

    model: str
    version: str
    metrics: dict[str, float]
    baselines: dict[str, dict[str, float]]
    decision: Decision
    cached: list[str]
    stage_seconds: dict[str, float]
    home: str
    contract_path: str
    inferred_contract: str | None = None
    selection: dict[str, Any] | None = None  # the candidates compared (one for a fixed kind) and the sized budget
