"""One run at a time per cache key: two runs that need the same stage output wait for each other.

Two runs of one workspace on one machine (two backfills of a span, a scheduled run and a manual
one) compute the same cache keys. Without a lock both would run the stage and write its files
into the same folder, and the slower run's record would name files the faster one had rewritten.
Prefect serialises a cached task's transaction when its cache policy has the SERIALIZABLE
isolation level and a lock manager; the second run then waits, finds the first run's record,
and is a cache hit.

The lock is an advisory `flock` on a file per key: the operating system drops it when its
holder dies, so a run killed mid-stage never leaves a lock behind (Prefect's own file lock
manager keeps such a lock until it expires). Machines that share a workspace in object storage
share no disk: their stage files are content-addressed instead (regress_core.pipeline.shared_cache).
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import os
import threading
import time
from functools import cache
from pathlib import Path
from typing import Any

from prefect import Task
from prefect.cache_policies import CachePolicy

POLL_S = 0.2


class FlockLockManager:
    """Prefect's LockManager protocol over `flock`ed files in one folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._held: dict[str, tuple[str, int]] = {}  # key -> (holder, file descriptor)
        self._guard = threading.Lock()

    def _path(self, key: str) -> Path:
        return self.folder / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.lock"

    def _try_lock(self, key: str) -> int | None:
        """A descriptor holding the key's lock, or None when another holder has it."""
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._path(key), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        return fd

    def acquire_lock(
        self, key: str, holder: str, acquire_timeout: float | None = None, hold_timeout: float | None = None
    ) -> bool:
        """Take the key's lock, waiting up to `acquire_timeout` seconds (for ever when None)."""
        with self._guard:
            if key in self._held:
                return self._held[key][0] == holder
        deadline = None if acquire_timeout is None else time.monotonic() + acquire_timeout
        while True:
            fd = self._try_lock(key)
            if fd is not None:
                with self._guard:
                    self._held[key] = (holder, fd)
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(POLL_S)

    async def aacquire_lock(
        self, key: str, holder: str, acquire_timeout: float | None = None, hold_timeout: float | None = None
    ) -> bool:
        return await asyncio.to_thread(self.acquire_lock, key, holder, acquire_timeout, hold_timeout)

    def release_lock(self, key: str, holder: str) -> None:
        with self._guard:
            held = self._held.get(key)
            if held is None or held[0] != holder:
                raise ValueError(f"no lock on {key!r} held by {holder!r}")
            del self._held[key]
        os.close(held[1])  # closing the descriptor drops the flock

    def is_locked(self, key: str) -> bool:
        with self._guard:
            if key in self._held:
                return True
        fd = self._try_lock(key)
        if fd is None:
            return True
        os.close(fd)
        return False

    def is_lock_holder(self, key: str, holder: str) -> bool:
        with self._guard:
            held = self._held.get(key)
        return held is not None and held[0] == holder

    def wait_for_lock(self, key: str, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.is_locked(key):
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(POLL_S)
        return True

    async def await_for_lock(self, key: str, timeout: float | None = None) -> bool:
        return await asyncio.to_thread(self.wait_for_lock, key, timeout)


@cache
def lock_manager(folder: Path) -> FlockLockManager:
    """One manager per lock folder in this process, so a lock taken is released by the same manager."""
    return FlockLockManager(folder)


def serialised(task: Task[Any, Any], folder: Path) -> Task[Any, Any]:
    """The cached task with its transaction serialised per cache key through locks in `folder`."""
    policy = task.cache_policy
    if isinstance(policy, CachePolicy):
        task.cache_policy = policy.configure(isolation_level="SERIALIZABLE", lock_manager=lock_manager(folder))
    return task
