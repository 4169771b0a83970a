"""Stage locks: one holder per cache key across processes, and a killed holder leaves no lock."""

from __future__ import annotations

import subprocess
import sys
import time

from tasks.stage_locks import FlockLockManager

HOLD = """
import sys, time
from pathlib import Path
from tasks.stage_locks import FlockLockManager
manager = FlockLockManager(Path(sys.argv[1]))
assert manager.acquire_lock("train-key", "child", acquire_timeout=5)
print("held", flush=True)
time.sleep(600)
"""


def hold_in_child(folder) -> subprocess.Popen[str]:
    child = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "held"
    return child


def test_a_key_held_by_another_process_waits_and_a_killed_holder_frees_it(tmp_path):
    manager = FlockLockManager(tmp_path / "locks")
    child = hold_in_child(tmp_path / "locks")
    try:
        assert manager.is_locked("train-key")
        started = time.monotonic()
        assert not manager.acquire_lock("train-key", "me", acquire_timeout=0.5)
        assert time.monotonic() - started >= 0.5
        assert manager.acquire_lock("other-key", "me", acquire_timeout=0.5)  # other keys are free
    finally:
        child.kill()  # SIGKILL: no release, no cleanup
        child.wait()
    assert manager.acquire_lock("train-key", "me", acquire_timeout=5)
    assert manager.is_lock_holder("train-key", "me")
    assert not manager.is_lock_holder("train-key", "you")
    manager.release_lock("train-key", "me")
    assert not manager.is_locked("train-key")
