"""Where training tables come from: the bundled dataset, synthetic sets, files and URLs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from regress_core.data.contract import ColumnSpec, DataContract, load_contract
from regress_core.data.tables import read_table
from regress_core.errors import DataError
from regress_core.fileio import sha256_file

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
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


def source_kind(source: str) -> str:
    """Classify a source string: bundled, synthetic, sklearn or file."""
    if source in BUNDLED:
        return "bundled"
    if source in SYNTHETIC:
        return "synthetic"
    if source.startswith(SKLEARN_PREFIX):
        return "sklearn"
    return "file"


def default_contract(source: str) -> DataContract | None:
    """The contract a bundled or synthetic source ships with; None for other sources."""
    kind = source_kind(source)
    if kind == "bundled":
        return load_contract(DATA_DIR / f"{source}.contract.yaml")
    if kind == "synthetic":
        return synthetic_contract(source)
    if kind == "sklearn":
        return load_contract(DATA_DIR / f"{source.removeprefix(SKLEARN_PREFIX)}.contract.yaml")
    return None


def load_source(source: str, *, n_rows: int = 100, noise: float = 1.0, seed: int = 0) -> pd.DataFrame:
    """Load a training table from any supported source."""
    kind = source_kind(source)
    if kind == "bundled":
        return read_table(bundled_path(source))
    if kind == "synthetic":
        return make_synthetic(source, n_rows=n_rows, noise=noise, seed=seed)
    if kind == "sklearn":
        return fetch_sklearn(source.removeprefix(SKLEARN_PREFIX))
    return read_table(source)
