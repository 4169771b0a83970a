"""Prefect events on promotion, refused promotion and failed validation, and the automations that act on them."""

import asyncio
import time

import pytest
from prefect.blocks.notifications import SlackWebhook
from prefect.client.orchestration import get_client

from flows.training import training
from regress_cli.automations import definitions, install
from regress_core.config import build_config
from regress_core.data.contract import dump_contract, infer_contract
from regress_core.errors import ConfigError, DataValidationError
from tests.helpers import fast_config, make_table, model_events


def wait_for_events(model: str, names: set[str], timeout_s: float = 60) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        found = {event.event: event for event in model_events(model)}
        if names <= set(found) or time.monotonic() > deadline:
            return found
        time.sleep(1)


def test_promotion_refusal_and_failed_validation_reach_the_server_as_events(tmp_path):
    home = str(tmp_path / "home")
    source = tmp_path / "alerts.csv"
    make_table(200).to_csv(source, index=False)
    data = {"source": str(source), "target": "y"}
    promoted = training(config=build_config(values=fast_config(home, data=data)))
    assert promoted.decision.promote
    make_table(200, seed=1).to_csv(source, index=False)  # a newer snapshot
    refused = training(config=build_config(values=fast_config(home, data=data, gate={"r2_min": 0.99999})))
    assert not refused.decision.promote
    contract = infer_contract(make_table(200), target="y", name="alerts")
    strict = contract.model_copy(
        update={"columns": [c.model_copy(update={"max": 0.0}) if c.name == "y" else c for c in contract.columns]}
    )
    (tmp_path / "strict.yaml").write_text(dump_contract(strict))
    with pytest.raises(DataValidationError):
        training(
            config=build_config(values=fast_config(home, data={**data, "contract": str(tmp_path / "strict.yaml")}))
        )

    found = wait_for_events(
        "alerts", {"regress.model.promoted", "regress.model.promotion-refused", "regress.data.validation-failed"}
    )
    assert set(found) == {"regress.model.promoted", "regress.model.promotion-refused", "regress.data.validation-failed"}
    event = found["regress.model.promotion-refused"]
    assert event.resource.id == "regress.model.alerts"
    assert event.resource.name == "alerts"
    version = next(related for related in event.related if related.role == "model-version")
    assert version.id == f"regress.model-version.alerts.{refused.version}"
    assert "r2_min" in event.payload["failed_checks"]
    assert event.payload["previous_champion"] == promoted.version
    assert {related.role for related in event.related} >= {"flow-run", "model-version"}
    assert found["regress.model.promoted"].payload["summary"] == promoted.decision.summary
    assert "data validation failed" in found["regress.data.validation-failed"].payload["error"]


def test_the_automations_install_with_or_without_a_notification_block():
    assert sorted(install()) == ["regress-model-promoted", "regress-promotion-refused", "regress-validation-failed"]
    block_id = SlackWebhook(url="http://127.0.0.1:9/hook").save("ml-alerts", overwrite=True)
    install("slack-webhook/ml-alerts")

    async def installed():
        async with get_client() as client:
            return await client.read_automations_by_name("regress-promotion-refused")

    (automation,) = asyncio.run(installed())  # installing again replaced the first one
    assert automation.trigger.expect == {"regress.model.promotion-refused"}
    (action,) = automation.actions
    assert action.type == "send-notification"
    assert action.block_document_id == block_id
    assert [action["type"] for item in definitions(None) for action in item["actions"]] == ["do-nothing"] * 3
    with pytest.raises(ConfigError, match="no notification block 'slack-webhook/nobody' on the Prefect server"):
        install("slack-webhook/nobody")
