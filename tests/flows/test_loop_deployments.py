"""prefect.yaml deployed with Prefect's own command: daily scoring and monitoring, and retraining on drift events."""

import asyncio
import contextlib
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import yaml
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
from prefect.events import emit_event
from prefect.events.worker import EventsWorker
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

from regress_cli.automations import NIGHTLY, install_retraining
from regress_cli.local_server import POOL

ROOT = Path(__file__).resolve().parents[2]
RETRAIN = "regress-retrain-on-drift-or-degradation"
DEPLOYMENTS = (NIGHTLY, "batch_scoring/score", "monitoring/monitor", "promote_model/promote", "rollback_model/rollback")


def nightly_entry() -> dict:
    deployments = yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]
    return next(entry for entry in deployments if entry["name"] == "nightly")


def test_the_retraining_automation_mirrors_the_nightly_trigger():
    (trigger,) = nightly_entry()["triggers"]
    (automation,) = yaml.safe_load((ROOT / "automations" / "retrain.yaml").read_text())["automations"]
    assert automation["name"] == trigger["name"] == RETRAIN
    fields = ("type", "posture", "expect", "match", "for_each", "threshold", "within")
    assert {name: automation["trigger"][name] for name in fields} == {name: trigger[name] for name in fields}
    (action,) = automation["actions"]
    assert action["type"] == "run-deployment"
    assert action["parameters"] == trigger["parameters"] == {"as_of": "{{ event.payload.as_of }}"}
    assert set(trigger["expect"]) == {"regress.data.drift", "regress.model.performance-degraded"}
    assert trigger["within"] >= 12 * 3600  # a cooldown: one bad day starts one retraining


async def _read(call):
    async with get_client() as client:
        return await call(client)


def read(call):
    return asyncio.run(_read(call))


@pytest.fixture(scope="module")
def deployed(prefect_server):
    """Every deployment of prefect.yaml on the session's server, by `prefect --no-prompt deploy --all`."""

    async def create_pool(client):
        with contextlib.suppress(ObjectAlreadyExists):
            await client.create_work_pool(WorkPoolCreate(name=POOL, type="process"))

    read(create_pool)
    env = {**os.environ, "PREFECT_API_URL": prefect_server}
    command = [sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--all", "--prefect-file", "prefect.yaml"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stdout + done.stderr
    yield {name: read(lambda client, name=name: client.read_deployment_by_name(name)) for name in DEPLOYMENTS}

    async def remove(client):  # scheduled runs of the daily deployments go with them
        for name in DEPLOYMENTS:
            with contextlib.suppress(ObjectNotFound):
                await client.delete_deployment((await client.read_deployment_by_name(name)).id)
        for automation in await client.read_automations_by_name(RETRAIN):
            await client.delete_automation(automation.id)

    read(remove)


def test_deploy_schedules_scoring_and_monitoring_and_creates_the_retraining_trigger(deployed):
    score, monitor = deployed["batch_scoring/score"], deployed["monitoring/monitor"]
    assert [schedule.schedule.cron for schedule in score.schedules] == ["0 6 * * *"]
    assert [schedule.schedule.cron for schedule in monitor.schedules] == ["0 7 * * *"]
    assert score.parameters["params"]["input"] == "regress-home/incoming/dt={as_of}/part.parquet"
    assert score.parameters["params"]["stamp"] is True
    assert monitor.parameters["monitor"]["tolerance"] == 0.2
    assert "MonitorConfig" in monitor.parameter_openapi_schema["definitions"]
    nightly = deployed[NIGHTLY]
    for _ in range(2):  # as deployed, then as `regress ui start` installs it again: one automation either way
        (automation,) = read(lambda client: client.read_automations_by_name(RETRAIN))
        assert automation.trigger.expect == {"regress.data.drift", "regress.model.performance-degraded"}
        (action,) = automation.actions
        assert (action.type, action.deployment_id) == ("run-deployment", nightly.id)
        assert action.parameters == {"as_of": "{{ event.payload.as_of }}"}
        assert install_retraining() == [RETRAIN]


def test_drift_runs_nightly_for_that_day_once(deployed):
    nightly = deployed[NIGHTLY]
    model = f"loop-{uuid.uuid4().hex[:8]}"
    as_of = "2026-11-30T00:00:00+00:00"
    resource = {"prefect.resource.id": f"regress.model.{model}", "prefect.resource.name": model}
    for name in ("regress.data.drift", "regress.data.drift", "regress.model.performance-degraded"):
        emit_event(event=name, resource=resource, payload={"as_of": as_of, "features": {"MedInc": 0.4}})
    EventsWorker.drain_all(timeout=10)

    def runs_for_the_day():
        found = read(
            lambda client: client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[nightly.id])), limit=200
            )
        )
        return [run for run in found if str(run.parameters.get("as_of", "")).startswith("2026-11-30T00:00:00")]

    deadline = time.monotonic() + 60
    while not runs_for_the_day() and time.monotonic() < deadline:
        time.sleep(1)
    time.sleep(3)  # time for a second run, were the cooldown not there
    (run,) = runs_for_the_day()
    assert run.deployment_id == nightly.id
