"""Safe loading end to end: a tampered package through `regress score`, the stage cache through the flow."""

import shutil
from pathlib import Path

import pytest

from flows.training import training
from regress_core.config import build_config
from regress_core.data.preprocessor_io import load_preprocessor
from regress_core.pipeline.workspace import Workspace
from tests.helpers import (
    fast_config,
    make_table,
    model_registry,
    pickle_payload,
    regress,
    skops_payload,
    swap_package_file,
    train_package,
)

ALL_STAGES = ["ingest", "validate", "split", "scale", "train", "evaluate"]


@pytest.fixture(autouse=True)
def no_signing_or_pickle(monkeypatch):
    monkeypatch.delenv("REGRESS_SIGNING_KEY", raising=False)
    monkeypatch.delenv("REGRESS_TRUST_PICKLE", raising=False)


def run(home):
    return training(config=build_config(values=fast_config(home, data={"source": "linear"})))


@pytest.mark.parametrize(
    ("name", "payload", "remove", "message"),
    [
        (
            "preprocessor.skops",
            skops_payload,
            (),
            "preprocessor.skops holds the untrusted type tests.helpers.TouchOnLoad",
        ),
        ("preprocessor.joblib", pickle_payload, ("preprocessor.skops",), "holds a pickled preprocessor"),
    ],
)
def test_score_refuses_a_tampered_package_and_runs_none_of_its_code(home, tmp_path, name, payload, remove, message):
    version = train_package(home)
    registry = model_registry(home)
    assert registry.champion() == version
    marker = tmp_path / "pwned"
    swap_package_file(registry.version_dir(version), name, payload(marker), remove=remove)
    make_table(20, seed=3).drop(columns="y").to_csv(tmp_path / "in.csv", index=False)
    done = regress("score", "--input", str(tmp_path / "in.csv"), "--output", str(tmp_path / "p.parquet"), home=home)
    assert done.returncode == 4, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("regress: error:")]
    assert len(errors) == 1
    assert errors[0].startswith(f"regress: error: model version {version}")
    assert message in errors[0]
    assert "Traceback" not in done.stderr
    assert not marker.exists()
    assert not (tmp_path / "p.parquet").exists()


def test_a_copied_workspace_reuses_its_own_cache(tmp_path):
    original, copy = tmp_path / "original", tmp_path / "copy"
    first = run(str(original))
    shutil.copytree(original, copy)
    shutil.rmtree(original)
    second = run(str(copy))
    assert second.cached == ALL_STAGES
    assert second.version == first.version
    assert model_registry(str(copy)).versions() == [first.version]
    assert Path(second.contract_path).is_relative_to(copy)
    assert not original.exists()


def test_a_tampered_cached_preprocessor_is_fitted_again_not_loaded(home, tmp_path):
    first = run(home)
    [cached] = (Workspace.at(home).stage_dir("scale")).glob("*/preprocessor.skops")
    original = cached.read_bytes()
    marker = tmp_path / "pwned"
    cached.write_bytes(skops_payload(marker))
    second = run(home)
    # Refitting gives the same bytes, so training and evaluation stay cached and nothing new is published.
    assert second.cached == ["ingest", "validate", "split", "train", "evaluate"]
    assert second.version == first.version
    assert cached.read_bytes() == original
    assert load_preprocessor(cached).n_features_out_ == 1
    assert not marker.exists()
