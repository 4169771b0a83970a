"""Manual model operations a person starts from the Prefect UI or the command line."""

from __future__ import annotations

from typing import Annotated, Any

from prefect import flow
from pydantic import Field

from regress_core.config import MODEL_NAME_CHARACTERS
from regress_core.registry.manifest import VERSION_PATTERN
from regress_core.registry.operations import MIN_REASON
from tasks.operations import promote, rollback
from tasks.storage import apply_storage_block

Reason = Annotated[str, Field(min_length=MIN_REASON, description="Why; recorded in the audit history.")]
Home = Annotated[str | None, Field(description="Workspace folder; defaults to $REGRESS_HOME, then ./regress-home.")]
Model = Annotated[
    str | None,
    Field(pattern=MODEL_NAME_CHARACTERS, description="Model name, e.g. california_housing; empty: the only one."),
]


@flow(name="promote_model")
def promote_model(
    version: Annotated[str, Field(pattern=VERSION_PATTERN.pattern, description="Version to promote, e.g. v0003.")],
    reason: Reason,
    model: Model = None,
    home: Home = None,
) -> dict[str, Any]:
    """Make a chosen version of a model its champion."""
    apply_storage_block()
    return promote(model, version, reason, home)


@flow(name="rollback_model")
def rollback_model(reason: Reason, model: Model = None, home: Home = None) -> dict[str, Any]:
    """Make a model's previous champion its champion again."""
    apply_storage_block()
    return rollback(model, reason, home)
