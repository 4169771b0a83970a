"""Fitted preprocessing is stored without pickle, and a tampered package runs no code."""

import pickle
import re
import shutil
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import skops.io

from regress_core.data.contract import infer_contract
from regress_core.data.preprocessing import Preprocessor
from regress_core.data.preprocessor_io import load_preprocessor, save_preprocessor, untrusted_types
from regress_core.errors import RegistryError
from regress_core.model.predict import predict_scaled
from regress_core.pipeline.workspace import Workspace
from regress_core.registry.package import load_package
from regress_core.registry.registered_model import RegisteredModel
from tests.helpers import (
    TouchOnLoad,
    make_mixed_table,
    make_table,
    model_registry,
    pickle_payload,
    skops_payload,
    swap_package_file,
    train_package,
)

TOUCH_TYPE = f"{TouchOnLoad.__module__}.TouchOnLoad"


@pytest.fixture
def messy() -> pd.DataFrame:
    df = make_mixed_table(300)
    df.loc[df.index[:10], "city"] = None  # a nullable categorical column too
    return df


@pytest.fixture
def package_home(tmp_path, monkeypatch) -> tuple[RegisteredModel, str]:
    monkeypatch.delenv("REGRESS_SIGNING_KEY", raising=False)
    home = str(tmp_path / "home")
    version = train_package(home)
    return model_registry(home), version


@pytest.mark.parametrize("scaler", ["standard", "quantile", "robust", "robust_clip", "none"])
def test_a_saved_preprocessor_transforms_exactly_as_the_fitted_one(tmp_path, messy, scaler):
    fitted = Preprocessor(contract=infer_contract(messy, target="price"), scaler=scaler).fit(messy)
    path = save_preprocessor(fitted, tmp_path / "p.skops")
    assert untrusted_types(path) == []
    loaded = load_preprocessor(path)
    unseen = messy.assign(city=["west"] * len(messy))
    for view in ("configured", "standard"):
        assert np.array_equal(loaded.transform_features(messy, view=view), fitted.transform_features(messy, view=view))
    assert np.array_equal(loaded.transform_features(unseen), fitted.transform_features(unseen))
    assert np.array_equal(loaded.inverse_target(np.array([-1.0, 2.5])), fitted.inverse_target(np.array([-1.0, 2.5])))
    assert loaded.contract == fitted.contract
    assert loaded.count_unseen(unseen) == {"city": len(messy)}


def test_equal_preprocessors_save_to_equal_bytes(tmp_path, messy):
    # The file's hash keys the evaluate stage and the package: refitting the same rows reuses them.
    contract = infer_contract(messy, target="price")
    first = save_preprocessor(Preprocessor(contract=contract).fit(messy), tmp_path / "a.skops")
    second = save_preprocessor(Preprocessor(contract=contract).fit(messy), tmp_path / "b.skops")
    assert first.read_bytes() == second.read_bytes()


def test_the_payload_runs_code_when_trusted(tmp_path):
    # Guards the tests below: the payloads are live, so their refusal is what keeps the marker away.
    marker = tmp_path / "pwned"
    pickle.loads(pickle_payload(marker))
    assert marker.is_file()
    marker.unlink()
    skops.io.loads(skops_payload(marker), trusted=[TOUCH_TYPE])
    assert marker.is_file()


def test_a_preprocessor_holding_another_type_is_refused_by_name(tmp_path):
    marker = tmp_path / "pwned"
    (tmp_path / "p.skops").write_bytes(skops_payload(marker))
    with pytest.raises(ValueError, match=f"holds the untrusted type {TOUCH_TYPE}; refused to load it"):
        load_preprocessor(tmp_path / "p.skops")
    assert not marker.exists()


@pytest.mark.parametrize(
    ("function", "name"), [(eval, "builtins.eval"), (shutil.rmtree, "shutil.rmtree (FunctionNode)")]
)
def test_a_function_inside_a_trusted_transformer_is_refused(tmp_path, table, function, name):
    fitted = Preprocessor(contract=infer_contract(table, target="y"), scaler="none").fit(table)
    fitted.columns_.transformers_[0][1].func = function  # called on every transform once loaded
    path = tmp_path / "p.skops"
    path.write_bytes(skops.io.dumps(fitted))
    assert untrusted_types(path) == [name]
    with pytest.raises(ValueError, match=re.escape(f"holds the untrusted type {name}; refused to load it")):
        load_preprocessor(path)


def test_a_loaded_package_predicts_as_its_preprocessor_and_model_in_memory(package_home):
    registry, version = package_home
    package = load_package(registry, version)
    # Refit the preprocessor in memory on the package's own training rows, from the stage cache.
    ws = Workspace(registry.root.parents[2])  # <home>/registry/models/<name>
    train_df = pd.read_parquet(ws.stage_dir("split") / package.metadata["cache_keys"]["split"] / "train.parquet")
    in_memory = Preprocessor(contract=package.contract, scaler="standard").fit(train_df)
    rows = make_table(50, seed=9)
    expected = in_memory.inverse_target(predict_scaled(package.model, in_memory.transform_features(rows)))
    assert np.array_equal(package.predict(rows), expected)


@pytest.mark.parametrize(
    ("name", "payload", "remove", "message"),
    [
        (
            "preprocessor.skops",
            skops_payload,
            (),
            f"preprocessor.skops holds the untrusted type {TOUCH_TYPE}; refused to load it",
        ),
        (
            "preprocessor.joblib",
            pickle_payload,
            ("preprocessor.skops",),
            "holds a pickled preprocessor (preprocessor.joblib), which could run code when loaded: "
            "retrain it, or set REGRESS_TRUST_PICKLE=1",
        ),
    ],
)
def test_a_tampered_package_with_a_rewritten_manifest_runs_no_code(
    package_home, tmp_path, monkeypatch, name, payload, remove, message
):
    monkeypatch.delenv("REGRESS_TRUST_PICKLE", raising=False)
    registry, version = package_home
    marker = tmp_path / "pwned"
    swap_package_file(registry.version_dir(version), name, payload(marker), remove=remove)
    registry.verify(version)  # the rewritten manifest matches: checksums alone cannot tell
    with pytest.raises(RegistryError) as caught:
        load_package(registry, version)
    assert str(caught.value).startswith(f"model version {version}")
    assert message in str(caught.value)
    assert not marker.exists()


def test_a_pickled_preprocessor_loads_only_when_asked(package_home, tmp_path, monkeypatch):
    monkeypatch.delenv("REGRESS_TRUST_PICKLE", raising=False)
    registry, version = package_home
    package_dir = registry.version_dir(version)
    current = load_package(registry, version)
    rows = make_table(30, seed=4)
    # A package as published before the skops format: the preprocessor pickled with joblib.
    joblib.dump(current.preprocessor, tmp_path / "preprocessor.joblib")
    data = (tmp_path / "preprocessor.joblib").read_bytes()
    swap_package_file(package_dir, "preprocessor.joblib", data, remove=("preprocessor.skops",))
    with pytest.raises(RegistryError, match="set REGRESS_TRUST_PICKLE=1"):
        load_package(registry, version)
    monkeypatch.setenv("REGRESS_TRUST_PICKLE", "1")
    assert np.array_equal(load_package(registry, version).predict(rows), current.predict(rows))


def test_skops_is_imported_on_first_use_and_trusts_only_the_listed_types(tmp_path):
    """The training flow's import leaves skops out; once used, skops trusts no estimator by default."""
    script = f"""
import sys
import flows.training
assert "skops.io" not in sys.modules, "importing the training flow imported skops"
from regress_core.data.preprocessor_io import load_preprocessor, save_preprocessor
from regress_core.data.contract import infer_contract
from regress_core.data.preprocessing import Preprocessor
from tests.helpers import make_table
df = make_table(50)
pre = Preprocessor(contract=infer_contract(df, target="y")).fit(df)
load_preprocessor(save_preprocessor(pre, {str(tmp_path / "p.skops")!r}))
from skops.io._trusted_types import SKLEARN_ESTIMATOR_TYPE_NAMES
assert SKLEARN_ESTIMATOR_TYPE_NAMES == [], SKLEARN_ESTIMATOR_TYPE_NAMES[:3]
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stderr[-2000:]
