"""Where a model runs and in which arithmetic: CUDA when present, bfloat16 where it is native."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

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


# Below this many training rows the networks' matrix products are too small to share between
# cores: waiting for the other thread costs more than it saves (a 100-row table trained in
# 11 s on one thread and 80 s on two while another process was busy).
ONE_THREAD_BELOW_ROWS = 4000


@contextmanager
def threads_for(n_rows: int) -> Iterator[int]:
    """Train on one CPU thread for a small table, on torch's default otherwise; restores the setting.

    Args:
        n_rows: Training and validation rows of the table.

    Yields:
        The number of intra-op threads in use.
    """
    before = torch.get_num_threads()
    threads = 1 if n_rows < ONE_THREAD_BELOW_ROWS else before
    torch.set_num_threads(threads)
    try:
        yield threads
    finally:
        torch.set_num_threads(before)
