"""Install the automations of `automations/model-events.yaml` on a Prefect server.

Each automation reacts to one of regress's events (see `tasks/events.py`). With a notification
block its actions notify through that block; without one they do nothing until a person adds
an action in the UI. Installing again replaces automations of the same name.
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


async def _install(notify: str | None) -> list[str]:
    from prefect.client.orchestration import get_client
    from prefect.events.schemas.automations import AutomationCore
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
        names = []
        for definition in definitions(block_id):
            for existing in await client.read_automations_by_name(definition["name"]):
                await client.delete_automation(existing.id)
            await client.create_automation(AutomationCore.model_validate(definition))
            names.append(definition["name"])
        return names


def install(notify: str | None = None) -> list[str]:
    """Create (or replace) the automations on the server PREFECT_API_URL names; return their names.

    Raises:
        ConfigError: no server is configured, or the block does not exist.
    """
    from prefect.settings import get_current_settings

    if not get_current_settings().api.url:
        raise ConfigError(
            "no Prefect server to install automations on: set PREFECT_API_URL (`regress ui start` prints it)"
        )
    return asyncio.run(_install(notify))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--notify", help="notification block, as block-type/block-name")
    names = install(parser.parse_args().notify)
    print(f"installed automations: {', '.join(names)}")


if __name__ == "__main__":
    main()
