"""Saving a model's weights and loading them back without unpickling code."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from regress_core.fileio import atomic_write
from regress_core.model.build import build_model
from regress_core.model.spec import ModelSpec


def save_weights(model: nn.Module, path: str | Path) -> Path:
    """Atomically save a model's state_dict (tensors only)."""
    state = {key: value.detach().cpu() for key, value in model.state_dict().items()}
    return atomic_write(path, lambda tmp: torch.save(state, tmp))


def load_model(spec: ModelSpec, weights_path: str | Path) -> nn.Module:
    """Rebuild a model and load its weights without unpickling any code."""
    model = build_model(spec)
    state = torch.load(weights_path, map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    return model.eval()
