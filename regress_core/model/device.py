"""Where a model runs and in which arithmetic: CUDA when present, bfloat16 where it is native."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch

from regress_core.errors import ConfigError


def resolve_device(choice: str) -> torch.device:
    """Pick the device: CUDA when asked for or, with "auto", when one is present."""
    if choice == "cuda" and not torch.cuda.is_available():
        raise ConfigError("train.device is cuda but no CUDA device is available")
    if choice == "cpu":
        return torch.device("cpu")
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def native_bfloat16(device: torch.device) -> bool:
    """Whether `device` computes bfloat16 matrix products in hardware, not by emulation."""
    if device.type == "cuda":
        try:
            return torch.cuda.is_bf16_supported(including_emulation=False)
        except TypeError:  # older signature, no emulation flag
            return torch.cuda.is_bf16_supported()
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


def resolve_precision(choice: str, device: torch.device) -> torch.dtype:
    """The autocast dtype of the training forward pass: "auto" takes bfloat16 only where native."""
    if choice == "bfloat16" or (choice == "auto" and native_bfloat16(device)):
        return torch.bfloat16
    return torch.float32


# Training shares its matrix products between the cores that are idle when it starts. On a
# quiet 2-core machine two threads trained every measured table faster than one, from 100 rows
# (1.5x) to 4,000 (1.2x to 1.4x); but a thread that waits for a core another process holds
# stalls every product (a 100-row table trained in 11 s on one thread and 80 s on two while
# another process was busy), so busy cores are left out.
IDLE_SAMPLE_SECONDS = 0.1


@dataclass(frozen=True)
class Threads:
    """CPU threads of the matrix products (intra-op), and why that many."""

    count: int
    reason: str


def idle_cores(sample_seconds: float = IDLE_SAMPLE_SECONDS) -> float | None:
    """Cores left idle by every process over a short sample (Linux's /proc/stat); None where unreadable."""
    try:
        before = _cpu_jiffies()
        time.sleep(sample_seconds)
        after = _cpu_jiffies()
    except (OSError, ValueError, IndexError):
        return None
    total, idle = after[0] - before[0], after[1] - before[1]
    cores = os.cpu_count() or 1
    return cores * idle / total if total > 0 else None


def _cpu_jiffies() -> tuple[int, int]:
    """All and idle CPU time since boot, summed over cores, in clock ticks."""
    with open("/proc/stat", encoding="ascii") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    return sum(fields), fields[3] + fields[4]  # idle and iowait


def choose_threads(available: int, idle: float | None) -> Threads:
    """Every available thread on a quiet machine, fewer where other processes hold cores.

    Args:
        available: torch's thread count (its default is one per core; OMP_NUM_THREADS lowers it).
        idle: Idle cores measured just before training (None: unknown, assumed idle).
    """
    if available <= 1:
        return Threads(1, "one thread available")
    if idle is None:
        return Threads(available, "every core")
    usable = max(1, min(available, math.floor(idle + 0.25)))
    if usable == available:
        return Threads(available, "every core idle")
    busy = available - usable
    return Threads(usable, f"{busy} of {available} cores busy with other work")


@contextmanager
def threads_for(*, networks: bool = True) -> Iterator[Threads]:
    """Train on the cores idle now (measured over 0.1 s); restores torch's setting afterwards.

    Args:
        networks: Whether networks train; without them (closed-form ridge alone) nothing is
            measured and torch's setting stays.

    Yields:
        The threads in use and why.
    """
    before = torch.get_num_threads()
    if not networks:
        yield Threads(before, "no network trained")
        return
    threads = choose_threads(before, idle_cores())
    torch.set_num_threads(threads.count)
    try:
        yield threads
    finally:
        torch.set_num_threads(before)


@contextmanager
def capped_threads(count: int) -> Iterator[int]:
    """At most `count` (and at least one) intra-op threads inside the block; torch's setting is restored after.

    For work beside another busy process: a thread that waits for the core that process
    holds stalls every product (see `threads_for`).

    Yields:
        The threads in use.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, min(before, count)))
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(before)
