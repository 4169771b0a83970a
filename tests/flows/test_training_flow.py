"""The training flow end to end on small synthetic data, under a Prefect test server."""

import asyncio

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterKey,
    FlowRunFilter,
    FlowRunFilterId,
    TaskRunFilter,
)
from prefect.client.schemas.sorting import ArtifactSort

from flows.training import training
from regress_core.config import build_config
from regress_core.errors import DataValidationError
from regress_core.pipeline.workspace import Workspace
from regress_core.registry.catalog import Registry
from tests.helpers import fast_config, make_table, model_registry

ALL_STAGES = ["ingest", "validate", "split", "scale", "train", "evaluate"]


def run(home, **sections):
    return training(config=build_config(values=fast_config(home, **sections)))


def registry(home):
    return model_registry(home)


async def artifact_keys(flow_run_id: str) -> set[str]:
    """The keys of the artifacts of one flow run (the session's server holds every test's runs)."""
    async with get_client() as client:
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(
                    any_=["test-metrics", "feature-importance", "promotion-decision", "model-report", "data-validation"]
                )
            ),
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
            task_run_filter=TaskRunFilter(),
            sort=ArtifactSort.CREATED_DESC,
            limit=50,
        )
    return {artifact.key for artifact in artifacts}


def test_full_run_publishes_and_bootstraps_the_champion(home):
    summary = run(home, data={"source": "linear"})
    assert (summary.model, summary.version) == ("linear", "v0001")
    assert summary.cached == []
    assert summary.metrics["r2"] > 0.9
    assert set(summary.baselines) == {"mean", "linear_regression"}
    assert summary.decision.bootstrap
    assert summary.decision.promote
    reg = registry(home)
    assert reg.champion() == "v0001"
    package = reg.verify("v0001")
    for name in (
        "model.pt",
        "preprocessor.skops",
        "package.json",
        "contract.yaml",
        "report.html",
        "manifest.json",
        "plots/loss_curves.png",
    ):
        assert (package / name).is_file(), name
    metadata = reg.metadata("v0001")
    assert metadata["data"]["raw_sha256"]
    assert metadata["code_version"]
    assert metadata["libraries"]["torch"]
    assert reg.history()[0]["action"] == "bootstrap"
    keys = asyncio.run(artifact_keys(reg.history()[0]["run"]))
    assert keys == {"test-metrics", "feature-importance", "promotion-decision", "model-report", "data-validation"}


def test_rerun_hits_every_cache_and_publishes_nothing_new(home):
    first = run(home, data={"source": "parabola"}, train={"max_epochs": 60}, model={"hidden_sizes": [32, 32]})
    assert first.decision.promote, first.decision.summary
    second = run(home, data={"source": "parabola"}, train={"max_epochs": 60}, model={"hidden_sizes": [32, 32]})
    assert second.cached == ALL_STAGES
    assert second.version == first.version == "v0001"
    assert second.decision.summary == "parabola@v0001 is already the champion; nothing changed"
    assert len(registry(home).history()) == 1


def test_changing_the_data_invalidates_everything_downstream(home, tmp_path):
    path = tmp_path / "data.csv"
    make_table(seed=1).to_csv(path, index=False)
    run(home, data={"source": str(path), "target": "y"})
    text = path.read_text()
    path.write_text(text[:-2] + ("1" if text[-2] != "1" else "2") + "\n")  # one byte
    summary = run(home, data={"source": str(path), "target": "y"})
    assert summary.cached == []


def test_changing_training_settings_reuses_data_stages(home, tmp_path):
    path = tmp_path / "data.csv"
    make_table(seed=2).to_csv(path, index=False)
    run(home, data={"source": str(path), "target": "y"})
    summary = run(home, data={"source": str(path), "target": "y"}, train={"lr": 0.02})
    assert summary.cached == ["ingest", "validate", "split", "scale"]


def test_gate_rejects_a_model_below_threshold(home):
    summary = run(home, data={"source": "linear"}, gate={"r2_min": 0.9999})
    assert not summary.decision.promote
    assert "failed r2_min" in summary.decision.summary
    assert registry(home).champion() is None
    assert registry(home).versions() == ["v0001"]


def test_gate_rejects_a_candidate_worse_than_the_champion(home):
    run(home, data={"source": "linear"})
    worse = run(home, data={"source": "linear"}, train={"max_epochs": 1, "lr": 0.0001})
    assert not worse.decision.promote
    assert "beyond the 1.0% tolerance" in worse.decision.checks[-1].text
    assert registry(home).champion() == "v0001"


def test_better_candidate_is_promoted_with_an_audit_record(home):
    run(home, data={"source": "linear"}, train={"max_epochs": 2, "lr": 0.001}, gate={"r2_min": None})
    better = run(home, data={"source": "linear"})
    assert better.decision.promote
    history = registry(home).history()
    assert [(h["action"], h["version"], h["previous"]) for h in history] == [
        ("bootstrap", "v0001", None),
        ("promote", "v0002", "v0001"),
    ]
    assert history[-1]["run"]  # the Prefect flow run that promoted it


def test_failed_validation_stops_before_training_and_publishes_nothing(home, tmp_path):
    path = tmp_path / "bad.csv"
    make_table().assign(y=lambda d: d.y.where(d.index != 3, float("inf"))).to_csv(path, index=False)
    contract = tmp_path / "contract.yaml"
    contract.write_text("target: y\ncolumns: [{name: a, min: 0, max: 10}, {name: b}, {name: y}]\nmin_rows: 10\n")
    with pytest.raises(DataValidationError, match=r"y: values must be finite \(1 of 120 rows\) \(e.g. inf\)") as caught:
        run(home, data={"source": str(path), "contract": str(contract)})
    assert caught.value.report.docs_path.is_file()
    assert Registry(Workspace.at(home).registry_dir).models() == []
    assert not (Workspace.at(home).cache_dir / "train").exists()
