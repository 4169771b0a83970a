"""Tasks of the manual model operations."""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from regress_core.pipeline.workspace import Workspace
from regress_core.registry.catalog import Registry
from regress_core.registry.operations import promote_version, rollback_champion
from regress_core.registry.registered_model import RegisteredModel
from regress_core.registry.signing import unchecked_warning
from regress_core.registry.verification import verify_package
from tasks.events import emit_champion_change
from tasks.locks import promotion_locks
from tasks.runner import flow_run_id


def _model(model: str | None, home: str | None) -> RegisteredModel:
    ws = Workspace.at(home)
    registry = Registry(ws.registry_dir, locks=promotion_locks(ws))
    return registry.model(model) if model else registry.only_model(hint="model=NAME")


def _report(registry: RegisteredModel, entry: dict[str, Any]) -> dict[str, Any]:
    text = (
        f"{entry['action']}: champion of {entry['model']} is now {entry['version']} (was {entry['previous']}); "
        f"reason: {entry['reason']}"
    )
    logger = get_run_logger()
    logger.info(text)
    create_markdown_artifact(f"**{text}**", key="champion-change", description="Manual model operation")
    emit_champion_change(entry)
    _, signature = verify_package(registry, entry["version"])
    warning = unchecked_warning(f"{registry.name}@{entry['version']}", signature)
    if warning:
        logger.warning(warning)
    return entry


@task(name="promote-version", cache_policy=NO_CACHE)
def promote(model: str | None, version: str, reason: str, home: str | None) -> dict[str, Any]:
    """Make the given version of a model its champion, with the reason in the audit history."""
    registry = _model(model, home)
    return _report(registry, promote_version(registry, version, reason=reason, run=flow_run_id()))


@task(name="rollback-champion", cache_policy=NO_CACHE)
def rollback(model: str | None, reason: str, home: str | None) -> dict[str, Any]:
    """Return a model to its previous champion, with the reason in the audit history."""
    registry = _model(model, home)
    return _report(registry, rollback_champion(registry, reason=reason, run=flow_run_id()))
