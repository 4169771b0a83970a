"""Where training tables come from, one module per kind of source, all behind one protocol (`Source`).

`open_source` turns what a person wrote (`--data`, `data.source`) into a source: the bundled
dataset and the tutorials' synthetic sets (`bundled`), and CSV or Parquet files by path or
URL (`files`).
"""

from __future__ import annotations

import pandas as pd

from regress_core.data.contract import DataContract
from regress_core.data.sources.base import Source, frame_batches, read_source
from regress_core.data.sources.bundled import (
    BUNDLED,
    DATA_DIR,
    SKLEARN_PREFIX,
    SYNTHETIC,
    BundledSource,
    SklearnSource,
    SyntheticSource,
    bundled_path,
    make_synthetic,
    synthetic_contract,
)
from regress_core.data.sources.files import FileSource

__all__ = [
    "BUNDLED",
    "DATA_DIR",
    "SYNTHETIC",
    "BundledSource",
    "FileSource",
    "SklearnSource",
    "Source",
    "SyntheticSource",
    "bundled_path",
    "default_contract",
    "frame_batches",
    "load_source",
    "make_synthetic",
    "open_source",
    "read_source",
    "source_kind",
    "synthetic_contract",
]


def source_kind(source: str) -> str:
    """Classify a source string: bundled, synthetic, sklearn or file."""
    if source in BUNDLED:
        return "bundled"
    if source in SYNTHETIC:
        return "synthetic"
    if source.startswith(SKLEARN_PREFIX):
        return "sklearn"
    return "file"


def open_source(location: str, *, n_rows: int = 100, noise: float = 1.0, seed: int = 0) -> Source:
    """The source a person named; `n_rows`, `noise` and `seed` shape a synthetic set."""
    kind = source_kind(location)
    if kind == "bundled":
        return BundledSource(location)
    if kind == "synthetic":
        return SyntheticSource(location, n_rows=n_rows, noise=noise, seed=seed)
    if kind == "sklearn":
        return SklearnSource(location)
    return FileSource(location)


def default_contract(location: str) -> DataContract | None:
    """The contract a bundled or synthetic source ships with; None for other sources."""
    return open_source(location).contract()


def load_source(location: str, *, n_rows: int = 100, noise: float = 1.0, seed: int = 0) -> pd.DataFrame:
    """A training table from any supported source, as a frame."""
    return read_source(open_source(location, n_rows=n_rows, noise=noise, seed=seed)).to_pandas()
