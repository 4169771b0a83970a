"""Where a model runs and in which arithmetic: CUDA when present, bfloat16 where it is native."""

from __future__ import annotations

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
