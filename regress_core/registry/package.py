"""Model packages: what a published version holds, and loading one safely for prediction."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from regress_core.data.contract import DataContract, dump_contract, load_contract
from regress_core.data.preprocessing import Preprocessor
from regress_core.data.preprocessor_io import load_preprocessor
from regress_core.errors import RegistryError
from regress_core.evaluation.intervals import IntervalCalibration
from regress_core.fileio import atomic_write_json, atomic_write_text
from regress_core.model.predict import predict_scaled
from regress_core.model.saving import load_model
from regress_core.model.spec import ModelSpec
from regress_core.registry.journal import utc_now
from regress_core.registry.registered_model import RegisteredModel
from regress_core.registry.signing import signing_key
from regress_core.registry.verification import verify_package

WEIGHTS = "model.pt"
PREPROCESSOR = "preprocessor.skops"
PICKLED_PREPROCESSOR = "preprocessor.joblib"  # packages published before the skops format
TRUST_PICKLE_ENV = "REGRESS_TRUST_PICKLE"
METADATA = "package.json"
CONTRACT = "contract.yaml"
SEEN_ROWS = "seen_rows.npy"  # fingerprints of the training and validation rows (data.fingerprints)
INTERVALS = "intervals.json"  # the prediction intervals' calibration (evaluation.intervals)
LIBRARIES = ("torch", "scikit-learn", "pandas", "numpy", "pyarrow", "great-expectations", "prefect")


def library_versions() -> dict[str, str]:
    """Versions of Python and the libraries a package depends on."""
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def stage_package(
    registry: RegisteredModel,
    *,
    weights_path: Path,
    preprocessor_path: Path,
    contract: DataContract,
    metadata: dict[str, Any],
    plots: dict[str, Path],
    documents: dict[str, Any] | None = None,
) -> Path:
    """Copy a trained model and everything that explains it into a staging folder.

    `documents` are further JSON files of the package, by file name (the intervals' calibration).

    Returns:
        The staging folder, ready for `RegisteredModel.publish`.
    """
    staging = registry.new_staging_dir()
    try:
        shutil.copyfile(weights_path, staging / WEIGHTS)
        shutil.copyfile(preprocessor_path, staging / PREPROCESSOR)
        atomic_write_text(staging / CONTRACT, dump_contract(contract))
        (staging / "plots").mkdir()
        for name, path in plots.items():
            shutil.copyfile(path, staging / "plots" / f"{name}.png")
        for file_name, document in (documents or {}).items():
            atomic_write_json(staging / file_name, document)
        body = {"created_at": utc_now(), "libraries": library_versions(), **metadata}
        atomic_write_json(staging / METADATA, body)
    except BaseException:
        registry.discard_staging(staging)
        raise
    return staging


@dataclass
class ModelPackage:
    """A verified, loaded model version ready to predict."""

    name: str
    version: str
    model: nn.Module
    preprocessor: Preprocessor
    contract: DataContract
    metadata: dict[str, Any]
    spec: ModelSpec
    signature: str  # signing.SIGNED, NOT_CHECKED or UNSIGNED: whether its signature was checked
    intervals: IntervalCalibration | None = None  # None for a version published before intervals

    def interval_calibration(self) -> IntervalCalibration:
        """The version's interval calibration; a version published before intervals is refused."""
        if self.intervals is None:
            raise RegistryError(
                f"model {self.name}@{self.version} holds no prediction intervals (it was published before regress "
                "calibrated them): train a new version to score with --interval"
            )
        return self.intervals

    def predict(self, df: pd.DataFrame, *, precision: torch.dtype = torch.float32) -> np.ndarray:
        """Predictions in target units for the rows of `df`, shape (n_rows,), float64.

        `precision` bfloat16 runs the network's matrix products in bfloat16 (scoring's
        `auto` choice where the hardware does it natively); evaluation and the gate use float32.
        """
        # The model reads the view it was trained on (a closed-form linear fit reads the standardised one).
        x = self.preprocessor.transform_features(df, view=self.spec.view)
        return self.preprocessor.inverse_target(predict_scaled(self.model, x, precision=precision))


def _load_preprocessor(package_dir: Path, version: str) -> Preprocessor:
    path = package_dir / PREPROCESSOR
    if path.is_file():
        try:
            return load_preprocessor(path)
        except ValueError as exc:
            raise RegistryError(f"model version {version}'s {PREPROCESSOR} {exc}") from exc
    if not (package_dir / PICKLED_PREPROCESSOR).is_file():
        raise RegistryError(f"model version {version} holds no preprocessor")
    if os.environ.get(TRUST_PICKLE_ENV) != "1":
        raise RegistryError(
            f"model version {version} holds a pickled preprocessor ({PICKLED_PREPROCESSOR}), which could run code "
            f"when loaded: retrain it, or set {TRUST_PICKLE_ENV}=1 to load it if you trust everyone who could write "
            "the registry"
        )
    import joblib  # only on this explicit opt-in

    preprocessor = joblib.load(package_dir / PICKLED_PREPROCESSOR)
    if not isinstance(preprocessor, Preprocessor):
        raise RegistryError(f"model version {version} holds no valid preprocessor")
    return preprocessor


def load_package(registry: RegisteredModel, version: str) -> ModelPackage:
    """Verify a version's checksums (and signature, with a signing key set), then load it.

    The preprocessor loads from skops's format, building only trusted types; a package from
    before that format holds a pickle, loaded only with `REGRESS_TRUST_PICKLE=1` set.
    Weights load as tensors only. The package records whether its signature was checked.
    """
    package_dir, signature = verify_package(registry, version)
    metadata = registry.metadata(version)
    preprocessor = _load_preprocessor(package_dir, version)
    spec = ModelSpec.from_dict(metadata["spec"])
    model = load_model(spec, package_dir / WEIGHTS)
    contract = load_contract(package_dir / CONTRACT)
    intervals_file = package_dir / INTERVALS
    intervals = (
        IntervalCalibration.from_dict(json.loads(intervals_file.read_text())) if intervals_file.is_file() else None
    )
    return ModelPackage(
        name=registry.name,
        version=version,
        model=model,
        preprocessor=preprocessor,
        contract=contract,
        metadata=metadata,
        spec=spec,
        signature=signature,
        intervals=intervals,
    )


_LOADED: dict[tuple[str, str, str, str, str], ModelPackage] = {}
_LOADING = threading.Lock()
LOADED_LIMIT = 4


def load_package_once(registry: RegisteredModel, version: str) -> ModelPackage:
    """Load a version once per process (workers score many partitions with it).

    The manifest's hash is part of the cache key, and `load_package` verifies every file; so is
    the signing key's hash, so a package loaded while its signature could not be checked is
    checked again once a key is set.
    """
    signing = hashlib.sha256(signing_key() or b"").hexdigest()
    key = (str(registry.root), registry.name, version, registry.manifest_sha256(version), signing)
    with _LOADING:  # threads of one worker share the loaded package
        if key not in _LOADED:
            while len(_LOADED) >= LOADED_LIMIT:
                _LOADED.pop(next(iter(_LOADED)))
            _LOADED[key] = load_package(registry, version)
        return _LOADED[key]
