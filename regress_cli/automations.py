"""Install the automations of `automations/` on a Prefect server.

Each automation of `model-events.yaml` reacts to one of regress's events (see `tasks/events.py`).
With a notification block its actions notify through that block; without one they do nothing
until a person adds an action in the UI. `retrain.yaml` mirrors the deployment trigger of the
`nightly` deployment in prefect.yaml: drift or a worse error runs nightly training for that
day. Installing again replaces automations of the same name.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
from pathlib import Path
from typing import Any

import yaml

from regress_core.errors import ConfigError

DEFINITIONS = Path(__file__).resolve().parent.parent / "automations" / "model-events.yaml"
RETRAINING = DEFINITIONS.parent / "retrain.yaml"
NIGHTLY = "training/nightly"  # flow name / deployment name in prefect.yaml


def definitions(block_document_id: str | None) -> list[dict[str, Any]]:
    """The automations of the definitions file, their actions pointed at a block (or doing nothing)."""
    automations = yaml.safe_load(DEFINITIONS.read_text())["automations"]
    result = []
    for automation in copy.deepcopy(automations):
        if block_document_id is None:
            automation["actions"] = [{"type": "do-nothing"}]
        else:
            for action in automation["actions"]:
                action["block_document_id"] = block_document_id
        result.append(automation)
    return result


def retraining_definitions(deployment_id: str) -> list[dict[str, Any]]:
    """The retraining automations, run-deployment actions pointed at the nightly deployment.

    Each is owned by that deployment, as the one `prefect deploy` makes from its trigger, so a
    later deploy replaces it instead of adding a second automation that would start a second run.
    """
    automations = yaml.safe_load(RETRAINING.read_text())["automations"]
    result = []
    for automation in copy.deepcopy(automations):
        for action in automation["actions"]:
            action["deployment_id"] = deployment_id
        automation["owner_resource"] = f"prefect.deployment.{deployment_id}"
        result.append(automation)
    return result


async def _replace(client: Any, definition: dict[str, Any]) -> str:
    from prefect.events.schemas.automations import AutomationCore

    for existing in await client.read_automations_by_name(definition["name"]):
        await client.delete_automation(existing.id)
    await client.create_automation(AutomationCore.model_validate(definition))
    return str(definition["name"])


async def _install_retraining() -> list[str]:
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    async with get_client() as client:
        try:
            deployment = await client.read_deployment_by_name(NIGHTLY)
        except ObjectNotFound:
            return []
        return [await _replace(client, definition) for definition in retraining_definitions(str(deployment.id))]


def install_retraining() -> list[str]:
    """Create (or replace) the retraining automations; none where the server has no nightly deployment yet."""
    _require_server()
    return asyncio.run(_install_retraining())


def install_all(notify: str | None = None) -> list[str]:
    """The model-event automations and, where `nightly` is deployed, the retraining ones; their names."""
    return install(notify) + install_retraining()


async def _install(notify: str | None) -> list[str]:
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    async with get_client() as client:
        block_id = None
        if notify:
            block_type, sep, name = notify.partition("/")
            if not sep or not name:
                raise ConfigError(f"--notify {notify!r}: expected block-type/block-name, e.g. slack-webhook/ml-alerts")
            try:
                block = await client.read_block_document_by_name(name, block_type, include_secrets=False)
            except ObjectNotFound:
                raise ConfigError(
                    f"no notification block {notify!r} on the Prefect server: create it in the UI (Blocks) "
                    "or with `prefect block create`"
                ) from None
            block_id = str(block.id)
        return [await _replace(client, definition) for definition in definitions(block_id)]


def install(notify: str | None = None) -> list[str]:
    """Create (or replace) the automations on the server PREFECT_API_URL names; return their names.

    Raises:
        ConfigError: no server is configured, or the block does not exist.
    """
    _require_server()
    return asyncio.run(_install(notify))


def _require_server() -> None:
    from prefect.settings import get_current_settings

    if not get_current_settings().api.url:
        raise ConfigError(
            "no Prefect server to install automations on: set PREFECT_API_URL (`regress ui start` prints it)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--notify", help="notification block, as block-type/block-name")
    names = install_all(parser.parse_args().notify)
    print(f"installed automations: {', '.join(names)}")


if __name__ == "__main__":
    main()
