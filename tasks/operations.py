"""Tasks of the manual model operations."""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from regress_core.pipeline.workspace import Workspace
from regress_core.registry.operations import promote_version, rollback_champion
from regress_core.registry.store import Registry
from tasks.runner import flow_run_id


def _registry(home: str | None) -> Registry:
    return Registry(Workspace.at(home).registry_dir)


def _report(entry: dict[str, Any]) -> dict[str, Any]:
    text = f"{entry['action']}: champion is now {entry['version']} (was {entry['previous']}); reason: {entry['reason']}"
    get_run_logger().info(text)
    create_markdown_artifact(f"**{text}**", key="champion-change", description="Manual model operation")
    return entry


@task(name="promote-version", cache_policy=NO_CACHE)
def promote(version: str, reason: str, home: str | None) -> dict[str, Any]:
    """Make the given version champion, with its reason in the audit history."""
    return _report(promote_version(_registry(home), version, reason=reason, run=flow_run_id()))


@task(name="rollback-champion", cache_policy=NO_CACHE)
def rollback(reason: str, home: str | None) -> dict[str, Any]:
    """Return to the previous champion, with its reason in the audit history."""
    return _report(rollback_champion(_registry(home), reason=reason, run=flow_run_id()))
