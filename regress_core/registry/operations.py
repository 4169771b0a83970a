"""Manual model operations: promote a chosen version, roll back to the previous champion."""

from __future__ import annotations

from typing import Any

from regress_core.errors import ConfigError, RegistryError
from regress_core.failpoints import failpoint
from regress_core.registry.registered_model import RegisteredModel

MIN_REASON = 3


def check_reason(reason: str) -> str:
    """The stripped reason of a manual operation; refuses one shorter than MIN_REASON."""
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON:
        raise ConfigError("a reason is required (a few words saying why), e.g. --reason 'rollback after bad scores'")
    return reason


def promote_version(registry: RegisteredModel, version: str, *, reason: str, run: str | None = None) -> dict[str, Any]:
    """Make a given version the champion, bypassing the gate; audited with its reason.

    Raises:
        ConfigError: without a reason.
        RegistryError: if the version is missing, altered, or already champion.
    """
    reason = check_reason(reason)
    with registry.lock():
        failpoint("promote:locked")
        registry.recover()
        registry.verify(version)
        if registry.champion() == version:
            raise RegistryError(f"{registry.name}@{version} is already the champion")
        return registry.set_champion(version, action="manual-promote", reason=reason, run=run)


def rollback_champion(registry: RegisteredModel, *, reason: str, run: str | None = None) -> dict[str, Any]:
    """Make the champion before the current one champion again; audited with its reason.

    Raises:
        RegistryError: if there is no earlier champion to return to.
    """
    reason = check_reason(reason)
    with registry.lock():
        failpoint("promote:locked")
        registry.recover()
        return registry.set_champion(previous_champion(registry), action="rollback", reason=reason, run=run)


def previous_champion(registry: RegisteredModel) -> str:
    """The champion before the current one.

    Raises:
        RegistryError: the model has no champion, or none before it.
    """
    history = registry.history()
    if registry.champion() is None or not history or history[-1].get("previous") is None:
        raise RegistryError(f"nothing to roll back to: model {registry.name} has no earlier champion")
    return str(history[-1]["previous"])
