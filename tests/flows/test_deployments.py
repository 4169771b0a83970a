"""prefect.yaml deployed to a real local Prefect server, run by a real worker."""

import asyncio

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, FlowRunFilter, FlowRunFilterId, TaskRunFilter
from prefect.client.schemas.sorting import ArtifactSort
from prefect.deployments import run_deployment
from prefect.settings import PREFECT_API_URL, temporary_settings

from tests.helpers import fast_config, model_registry


@pytest.fixture(scope="module")
def stack(ui_stack):
    with temporary_settings({PREFECT_API_URL: ui_stack[1]["api_url"]}):
        yield ui_stack


def test_server_binds_to_loopback_only(stack):
    _, state = stack
    assert state["url"].startswith("http://127.0.0.1:")


def test_ui_start_installs_the_model_event_automations(stack):
    async def read():
        async with get_client() as client:
            return await client.read_automations_by_name("regress-promotion-refused")

    (automation,) = asyncio.run(read())
    assert automation.trigger.expect == {"regress.model.promotion-refused"}
    assert [action.type for action in automation.actions] == ["do-nothing"]  # no --notify block given


def test_training_deployment_has_its_schedule_schema_and_concurrency_limit(stack):
    async def read():
        async with get_client() as client:
            return await client.read_deployment_by_name("training/nightly")

    deployment = asyncio.run(read())
    [schedule] = deployment.schedules
    assert schedule.schedule.cron == "0 2 * * *"
    assert schedule.schedule.timezone == "Europe/London"
    assert schedule.active
    assert deployment.global_concurrency_limit.limit == 1
    assert deployment.concurrency_options.collision_strategy == "ENQUEUE"
    schema = deployment.parameter_openapi_schema
    assert "config" in schema["properties"]
    definitions = schema["definitions"]
    assert {"RegressConfig", "TrainConfig", "GateConfig", "DataConfig"} <= set(definitions)
    # Empty until set (the preset fills it): a number above 0, or null, starting empty in the form.
    lr = definitions["TrainConfig"]["properties"]["lr"]
    number = next(option for option in lr["anyOf"] if option.get("type") == "number")
    assert number["exclusiveMinimum"] == 0
    assert {"type": "null"} in lr["anyOf"]
    assert lr["default"] is None
    assert "preset" in definitions["RegressConfig"]["properties"]


def test_custom_training_run_through_the_worker(stack, tmp_path):
    _ws, _ = stack
    home = str(tmp_path / "runs")
    config = fast_config(home, data={"source": "linear"}, train={"max_epochs": 10})
    run = run_deployment("training/nightly", parameters={"config": config}, timeout=400)
    assert run.state.is_completed(), run.state
    registry = model_registry(home)
    assert registry.versions() == ["v0001"]
    assert registry.champion() == "v0001"
    assert registry.history()[0]["run"] == str(run.id)

    async def artifacts():
        async with get_client() as client:
            found = await client.read_artifacts(
                artifact_filter=ArtifactFilter(),
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id])),
                task_run_filter=TaskRunFilter(),
                sort=ArtifactSort.CREATED_DESC,
                limit=50,
            )
        return {artifact.key for artifact in found}

    assert {"data-validation", "test-metrics", "model-report", "promotion-decision"} <= asyncio.run(artifacts())


def test_invalid_parameters_are_refused_before_the_run(stack):
    with pytest.raises(Exception, match="lr"):
        run_deployment("training/nightly", parameters={"config": {"train": {"lr": -1}}}, timeout=0)


def test_promote_and_rollback_deployments_change_the_champion(stack, tmp_path):
    from tests.helpers import train_package

    home = str(tmp_path / "ops")
    train_package(home, seed=0)
    train_package(home, seed=1)
    registry = model_registry(home)
    first_champion = registry.champion()
    other = "v0002" if first_champion == "v0001" else "v0001"
    run = run_deployment(
        "promote_model/promote", parameters={"version": other, "reason": "checked by hand", "home": home}, timeout=300
    )
    assert run.state.is_completed(), run.state
    assert registry.champion() == other
    entry = registry.history()[-1]
    assert (entry["action"], entry["reason"], entry["run"]) == ("manual-promote", "checked by hand", str(run.id))
    run = run_deployment(
        "rollback_model/rollback", parameters={"reason": "scores looked off", "home": home}, timeout=300
    )
    assert run.state.is_completed(), run.state
    assert registry.champion() == first_champion
    assert registry.history()[-1]["action"] == "rollback"
    assert registry.history()[-1]["run"] == str(run.id)
