"""The promotion lock of a registry in object storage: a Prefect global concurrency limit.

Machines that share a registry in object storage share no disk, so a file lock cannot keep
two of them from switching a model's champion at once. Each model gets a global concurrency
limit of one slot on the Prefect server every worker talks to; holding the slot is a lease
the server grants one holder at a time and takes back if the holder dies. A local workspace
keeps its file lock. `regress_core` never sees Prefect: it is handed `promotion_locks`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.concurrency.sync import concurrency
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

from regress_core.errors import ConfigError, RegistryError
from regress_core.pipeline.workspace import Workspace
from regress_core.registry.catalog import LockProvider
from regress_core.registry.storage import LOCK_TIMEOUT_S

LEASE_ENV = "REGRESS_LOCK_LEASE_SECONDS"
LEASE_S = 300.0  # renewed while held; a holder that dies loses the slot when its lease runs out


def lease_seconds() -> float:
    """The lease of a held slot: $REGRESS_LOCK_LEASE_SECONDS, else 300 s.

    The holder renews it every three quarters of its length, so a shorter lease frees the slot
    of a killed holder sooner but needs a server that answers within the remaining quarter.

    Raises:
        ConfigError: the value is not a number of at least 60 seconds (the least lease the server grants).
    """
    text = os.environ.get(LEASE_ENV)
    if not text:
        return LEASE_S
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not (math.isfinite(value) and value >= 60):
        raise ConfigError(f"{LEASE_ENV}={text!r} must be a number of seconds, at least 60 (the server's least lease)")
    return value


def ensure_limit(name: str) -> None:
    """Create the one-slot global concurrency limit `name` if the server does not have it yet."""
    with get_client(sync_client=True) as client:
        try:
            limit = client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            try:
                client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))
            except ObjectAlreadyExists:
                pass  # another machine created it a moment ago
            except httpx.HTTPStatusError as exc:
                if exc.response.status_code != 409:
                    raise
            return
        if limit.limit != 1 or not limit.active:
            raise RegistryError(
                f"the Prefect global concurrency limit {name!r} that serialises promotions must be active with one "
                f"slot, but it has {limit.limit} (active: {limit.active}); set it back with "
                f"`prefect gcl update {name} --limit 1 --enable`"
            )


@contextmanager
def prefect_lock(name: str) -> Iterator[None]:
    """Hold the one slot of the global concurrency limit `name` (waiting up to LOCK_TIMEOUT_S)."""
    ensure_limit(name)
    try:
        with concurrency(name, occupy=1, timeout_seconds=LOCK_TIMEOUT_S, lease_duration=lease_seconds(), strict=True):
            yield
    except TimeoutError as exc:
        raise RegistryError(
            f"waited {LOCK_TIMEOUT_S} s for the promotion lock {name!r} that another run holds; try again later"
        ) from exc


def promotion_locks(ws: Workspace) -> LockProvider | None:
    """The locks to hand the registry: Prefect's for object storage, None (a file lock) for a local folder."""
    return prefect_lock if ws.url else None
