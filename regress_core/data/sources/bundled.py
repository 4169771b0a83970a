"""Tables that need no file of the user's: the bundled dataset, the tutorials' synthetic sets, scikit-learn's."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from regress_core.data.contract import ColumnSpec, DataContract, load_contract
from regress_core.data.sources.base import frame_batches
from regress_core.data.tables import read_table
from regress_core.errors import DataError
from regress_core.fileio import sha256_file

DATA_DIR = Path(__file__).resolve().parents[3] / "data"
BUNDLED = {
    "california_housing": (
        "california_housing.csv",
        "94ef369b909f5c725340b512b7c9a05c1550a554b6592d29303990e3ba521a1f",
    ),
}
SYNTHETIC = ("linear", "parabola")
SKLEARN_PREFIX = "sklearn:"


def bundled_path(name: str) -> Path:
    """Return the path of a bundled dataset after checking its checksum."""
    file_name, expected = BUNDLED[name]
    path = DATA_DIR / file_name
    if not path.is_file():
        raise DataError(f"bundled dataset {name} is missing: expected {path}")
    if sha256_file(path) != expected:
        raise DataError(f"bundled dataset {path} does not match its recorded checksum")
    return path


def make_synthetic(name: str, *, n_rows: int, noise: float, seed: int) -> pd.DataFrame:
    """Generate the classic tutorial sets.

    `linear`: y = 2x + 1 + N(0, noise) on x evenly spaced over [0, 10].
    `parabola`: y = x^2 + N(0, noise) on x evenly spaced over [-5, 5].
    """
    rng = np.random.default_rng(seed)
    if name == "linear":
        x = np.linspace(0.0, 10.0, n_rows)
        y = 2.0 * x + 1.0 + rng.normal(0.0, noise, n_rows)
    elif name == "parabola":
        x = np.linspace(-5.0, 5.0, n_rows)
        y = x**2 + rng.normal(0.0, noise, n_rows)
    else:
        raise DataError(f"unknown synthetic dataset {name!r} (choose from {', '.join(SYNTHETIC)})")
    return pd.DataFrame({"x": x, "y": y})


def synthetic_contract(name: str) -> DataContract:
    """Contract of a synthetic set: one finite feature `x`, finite target `y`."""
    return DataContract(
        name=name,
        target="y",
        min_rows=10,
        columns=[ColumnSpec(name="x"), ColumnSpec(name="y")],
    )


def fetch_sklearn(name: str) -> pd.DataFrame:
    """Download a dataset with scikit-learn (needs a network)."""
    if name != "california_housing":
        raise DataError(f"unknown scikit-learn dataset {name!r}")
    from sklearn.datasets import fetch_california_housing

    try:
        return fetch_california_housing(as_frame=True).frame
    except OSError as exc:
        raise DataError(
            f"cannot download california_housing with scikit-learn ({exc}); "
            "use the bundled copy: --data california_housing"
        ) from exc


@dataclass(frozen=True)
class BundledSource:
    """A dataset shipped in the project's `data/` folder, checked against its recorded checksum."""

    location: str

    def fingerprint(self) -> str:
        return BUNDLED[self.location][1]

    def contract(self) -> DataContract | None:
        return load_contract(DATA_DIR / f"{self.location}.contract.yaml")

    def batches(self) -> Iterator[pa.RecordBatch]:
        return frame_batches(read_table(bundled_path(self.location)))


@dataclass(frozen=True)
class SyntheticSource:
    """One of the tutorials' synthetic sets (`linear`, `parabola`), made from its settings."""

    location: str
    n_rows: int = 100
    noise: float = 1.0
    seed: int = 0

    def fingerprint(self) -> str:
        return self.location

    def contract(self) -> DataContract | None:
        return synthetic_contract(self.location)

    def batches(self) -> Iterator[pa.RecordBatch]:
        return frame_batches(make_synthetic(self.location, n_rows=self.n_rows, noise=self.noise, seed=self.seed))


@dataclass(frozen=True)
class SklearnSource:
    """A scikit-learn dataset (`sklearn:california_housing`), downloaded by scikit-learn."""

    location: str

    @property
    def name(self) -> str:
        return self.location.removeprefix(SKLEARN_PREFIX)

    def fingerprint(self) -> str:
        return self.location

    def contract(self) -> DataContract | None:
        return load_contract(DATA_DIR / f"{self.name}.contract.yaml")

    def batches(self) -> Iterator[pa.RecordBatch]:
        return frame_batches(fetch_sklearn(self.name))
