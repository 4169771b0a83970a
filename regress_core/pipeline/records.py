"""Small typed records that pipeline stages hand each other instead of frames.

A record names its files relative to the workspace folder it holds in `home` (the `*_file`
fields; the `*_path` properties resolve them), so that a cached record read from a copied or
moved workspace is pointed at that workspace's own files with `rehome`. Every file a later
stage reads has its content hash recorded, and is checked before it is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from regress_core.data.tables import read_parquet
from regress_core.errors import DataError
from regress_core.fileio import atomic_write, sha256_file
from regress_core.model.spec import ModelSpec
from regress_core.pipeline.side_process import run_beside
from regress_core.pipeline.workspace import Workspace
from regress_core.registry.gate import Decision

if TYPE_CHECKING:  # a type only: the preprocessor loads scikit-learn
    from regress_core.data.preprocessing import Preprocessor

R = TypeVar("R")


def _resolve(home: str, file: str) -> str:
    return str(Path(home) / file)


def _check_file(path: str, sha256: str, what: str) -> Path:
    if not Path(path).is_file() or sha256_file(path) != sha256:
        raise DataError(f"cached {what} {path} is missing or changed; re-run with --refresh-cache")
    return Path(path)


@dataclass(frozen=True)
class TableRef:
    """A Parquet file in the workspace with its content hash and row count."""

    file: str
    sha256: str
    rows: int
    home: str
    key: str = ""
    window: dict[str, Any] | None = None  # a raw snapshot's time window and rows per day (`read_window`)

    @property
    def path(self) -> str:
        return _resolve(self.home, self.file)

    def hashed_files(self) -> dict[str, str]:
        return {self.path: self.sha256}

    def read(self) -> pd.DataFrame:
        """Read the table, refusing a file that changed since it was recorded."""
        return read_parquet(_check_file(self.path, self.sha256, "table"))


def save_table(df: pd.DataFrame, path: Path, ws: Workspace, *, key: str = "") -> TableRef:
    """Write a frame as Parquet atomically into the workspace and return its reference."""
    return save_arrow_table(pa.Table.from_pandas(df, preserve_index=False), path, ws, key=key)


def save_arrow_table(table: pa.Table, path: Path, ws: Workspace, *, key: str = "") -> TableRef:
    """Write an Arrow table as Parquet atomically into the workspace and return its reference."""
    atomic_write(path, lambda tmp: pq.write_table(table, tmp))
    return TableRef(file=ws.relative(path), sha256=sha256_file(path), rows=table.num_rows, home=str(ws.root), key=key)


@dataclass(frozen=True)
class ValidatedTable:
    """A table that passed its contract, with the contract used."""

    table: TableRef
    contract_file: str
    contract_sha256: str
    docs_file: str | None
    n_expectations: int
    key: str
    home: str
    inferred: str | None = None  # what was inferred, when no contract was given
    docs_url: str | None = None  # the report's copy in a workspace in object storage

    @property
    def contract_path(self) -> str:
        return _resolve(self.home, self.contract_file)

    @property
    def docs_path(self) -> str | None:
        """Where a person finds the report: its object for a remote workspace, else its local file."""
        if self.docs_url:
            return self.docs_url
        return _resolve(self.home, self.docs_file) if self.docs_file else None

    def hashed_files(self) -> dict[str, str]:
        return {**self.table.hashed_files(), self.contract_path: self.contract_sha256}


@dataclass(frozen=True)
class SplitTables:
    train: TableRef
    val: TableRef
    test: TableRef
    key: str

    def hashed_files(self) -> dict[str, str]:
        return {**self.train.hashed_files(), **self.val.hashed_files(), **self.test.hashed_files()}


@dataclass(frozen=True)
class ScaledTables:
    """Model-ready tables (scaled features and target) and the fitted preprocessor.

    `train` and `val` hold the configured feature view, `train_standard` and `val_standard`
    the standardised one (the same files when the configured scaler is standard).
    `indicators` are the inputs that are 0/1 by construction; `target_std` converts scaled
    target units back to the target's; `group_keys` names the numeric columns also
    target-encoded as the keys of groups of rows (`regress_core.data.group_keys`).
    """

    train: TableRef
    val: TableRef
    train_standard: TableRef
    val_standard: TableRef
    preprocessor_file: str
    preprocessor_sha256: str
    indicators: tuple[int, ...]
    target_std: float
    key: str
    home: str
    group_keys: tuple[str, ...] = ()

    @property
    def preprocessor_path(self) -> str:
        return _resolve(self.home, self.preprocessor_file)

    def hashed_files(self) -> dict[str, str]:
        tables = (self.train, self.val, self.train_standard, self.val_standard)
        return {**{t.path: t.sha256 for t in tables}, self.preprocessor_path: self.preprocessor_sha256}

    def checked_preprocessor_path(self) -> Path:
        """The fitted preprocessor's file, refusing one that changed since it was recorded."""
        return _check_file(self.preprocessor_path, self.preprocessor_sha256, "preprocessor")

    def load_preprocessor(self) -> Preprocessor:
        """Load the fitted preprocessor, refusing a file that changed since it was recorded.

        Read in the side process where one runs (skops is imported there) and sent back pickled.
        """
        from regress_core.data.preprocessor_io import load_preprocessor

        path = self.checked_preprocessor_path()
        try:
            return run_beside(load_preprocessor, path)
        except ValueError as exc:
            raise DataError(f"cached preprocessor {path} {exc}") from exc


@dataclass(frozen=True)
class TrainedModel:
    weights_file: str
    weights_sha256: str
    spec: ModelSpec
    history: list[dict[str, Any]]  # EpochRecord fields: numbers, each model's validation loss, the candidate's name
    summary: dict[str, Any]
    key: str
    home: str

    @property
    def weights_path(self) -> str:
        return _resolve(self.home, self.weights_file)

    def hashed_files(self) -> dict[str, str]:
        return {self.weights_path: self.weights_sha256}

    def checked_weights_path(self) -> Path:
        """The weights file, refusing one that changed since it was recorded."""
        return _check_file(self.weights_path, self.weights_sha256, "model weights")


@dataclass(frozen=True)
class Evaluation:
    metrics: dict[str, float]
    baselines: dict[str, dict[str, float]]
    plot_files: dict[str, str] = field(default_factory=dict)
    key: str = ""
    home: str = ""
    plot_sha256: dict[str, str] = field(default_factory=dict)  # by plot name; empty in records written before
    intervals: dict[str, Any] | None = None  # the calibration (`IntervalCalibration.to_dict`); None before intervals
    interval_summary: dict[str, Any] | None = None  # method, level, test coverage and width (`interval_summary`)
    # Permutation importance on the test rows (`evaluation.importance.permutation_importance`); empty before.
    importance: list[dict[str, Any]] = field(default_factory=list)
    # Test RMSE per category of the most important categorical feature: {"feature", "rows"}; empty without one.
    category_errors: dict[str, Any] = field(default_factory=dict)

    @property
    def plots(self) -> dict[str, str]:
        return {name: _resolve(self.home, file) for name, file in self.plot_files.items()}

    def hashed_files(self) -> dict[str, str]:
        plots = self.plots
        return {plots[name]: sha256 for name, sha256 in self.plot_sha256.items() if name in plots}


def rehome(record: R, home: str | Path) -> R:
    """The record, and the records inside it, pointed at the workspace folder `home`.

    A cached record names the folder it was written in; a copied or moved workspace reads
    its own files once its records are rehomed. Anything that is not a record is returned as is.
    """
    if not is_dataclass(record) or isinstance(record, type):
        return record
    changes: dict[str, Any] = {}
    for item in fields(record):
        value = getattr(record, item.name)
        if item.name == "home":
            changes["home"] = str(home)
        elif is_dataclass(value) and not isinstance(value, type):
            changes[item.name] = rehome(value, home)
    return replace(record, **changes) if changes else record


def hashed_files(record: object) -> dict[str, str]:
    """The files a record names, by path, with their content hashes (none for other objects)."""
    hashed = getattr(record, "hashed_files", None)
    return hashed() if hashed is not None else {}


def changed_files(record: object) -> list[str]:
    """Files of a record that are missing or differ from their recorded content hash, sorted."""
    return sorted(
        path for path, sha256 in hashed_files(record).items() if not Path(path).is_file() or sha256_file(path) != sha256
    )


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
    as_of: str | None = None  # the run's instant, ISO 8601
    window: dict[str, Any] | None = None  # the time window read, with rows per day (see TableRef.window)
