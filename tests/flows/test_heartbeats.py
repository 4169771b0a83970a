"""Prefect's flow-run heartbeats: off for the runs a command makes itself, unless the user sets a frequency."""

import asyncio
import time

import pytest
from prefect.client.orchestration import get_client
from prefect.events.filters import EventFilter, EventNameFilter, EventResourceFilter

from regress_cli.prefect_api import without_idle_heartbeats
from tests.helpers import FAST_ARGS, model_events, regress

HEARTBEAT = "prefect.flow-run.heartbeat"


def unset_heartbeat_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The child command sees no heartbeat setting from the developer's environment."""
    for name in ("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", "PREFECT_RUNNER_HEARTBEAT_FREQUENCY"):
        monkeypatch.delenv(name, raising=False)


def flow_run_of_promotion(model: str, timeout_s: float = 60) -> str:
    """The id of the flow run that promoted `model`, from its `regress.model.promoted` event."""
    deadline = time.monotonic() + timeout_s
    while True:
        events = model_events(model, names=["regress.model.promoted"])
        if events or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert events, f"no promotion event for {model}"
    (flow_run,) = [related.id for related in events[0].related if related.role == "flow-run"]
    return flow_run.removeprefix("prefect.flow-run.")


def heartbeats(flow_run_id: str) -> list[object]:
    async def read() -> list[object]:
        async with get_client() as client:
            page = await client.read_events(
                filter=EventFilter(
                    event=EventNameFilter(name=[HEARTBEAT]),
                    resource=EventResourceFilter(id=[f"prefect.flow-run.{flow_run_id}"]),
                ),
                limit=50,
            )
        return list(page.events)

    return asyncio.run(read())


@pytest.mark.parametrize(
    ("frequency", "expected"),
    [(None, False), ("30", True)],
    ids=["prefect-default-off", "set-by-the-user-kept"],
)
def test_a_training_command_sends_heartbeats_only_when_the_user_sets_their_frequency(
    home, monkeypatch, frequency, expected
):
    model = f"beats_{'off' if frequency is None else 'on'}"
    unset_heartbeat_settings(monkeypatch)
    if frequency is not None:
        monkeypatch.setenv("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", frequency)
    done = regress("train", "--data", "linear", *FAST_ARGS, f"--set=registry.model={model}", home=home)
    assert done.returncode == 0, done.stderr
    flow_run = flow_run_of_promotion(model)
    # The first heartbeat is sent as the flow run starts, before the promotion's event.
    deadline = time.monotonic() + (30 if expected else 5)
    while not (found := heartbeats(flow_run)) and time.monotonic() < deadline:
        time.sleep(1)
    assert bool(found) is expected


def test_without_idle_heartbeats_turns_off_only_the_default():
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, get_current_settings, temporary_settings

    if "heartbeat_frequency" in get_current_settings().flows.model_fields_set:
        pytest.skip("this environment sets Prefect's heartbeat frequency")
    with without_idle_heartbeats():
        assert get_current_settings().flows.heartbeat_frequency is None
    assert get_current_settings().flows.heartbeat_frequency == 180  # Prefect's default, restored
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: 60}), without_idle_heartbeats():
        assert get_current_settings().flows.heartbeat_frequency == 60
