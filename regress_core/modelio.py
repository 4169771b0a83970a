"""Building models from configuration, and saving and loading their weights safely."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from regress_core.config import ModelConfig
from regress_core.embeddings import compute_bin_edges
from regress_core.fileio import atomic_write
from regress_core.models import LinearRegressor, TabularMLP


def model_spec(config: ModelConfig, *, n_features: int) -> dict[str, Any]:
    """The constructor arguments that rebuild a model's shapes, as plain JSON data."""
    spec: dict[str, Any] = {"kind": config.kind, "n_features": n_features}
    if config.kind != "linear":
        spec |= {
            "hidden_sizes": list(config.hidden_sizes),
            "activation": config.activation,
            "dropout": config.dropout,
            "ensemble_size": config.ensemble_size,
        }
    if config.kind == "embedding_mlp":
        spec |= {"n_bins": config.n_bins, "embedding_dim": config.embedding_dim}
    return spec


def build_model(spec: dict[str, Any], *, x_train: np.ndarray | None = None) -> nn.Module:
    """Construct a model from its spec.

    Args:
        spec: Output of `model_spec`.
        x_train: Training inputs, shape (n_rows, n_features); sets the embedding bins.
            None leaves placeholder bins, to be replaced by `load_state_dict`.
    """
    n_features = spec["n_features"]
    if spec["kind"] == "linear":
        return LinearRegressor(n_features=n_features)
    bin_edges = None
    if spec["kind"] == "embedding_mlp":
        if x_train is not None:
            bin_edges = compute_bin_edges(x_train, n_bins=spec["n_bins"])
        else:
            bin_edges = torch.zeros(n_features, spec["n_bins"] + 1)
    return TabularMLP(
        n_features=n_features,
        hidden_sizes=spec["hidden_sizes"],
        activation=spec["activation"],
        dropout=spec["dropout"],
        ensemble_size=spec["ensemble_size"],
        bin_edges=bin_edges,
        embedding_dim=spec.get("embedding_dim", 16),
    )


def save_weights(model: nn.Module, path: str | Path) -> Path:
    """Atomically save a model's state_dict (tensors only)."""
    state = {key: value.detach().cpu() for key, value in model.state_dict().items()}
    return atomic_write(path, lambda tmp: torch.save(state, tmp))


def load_model(spec: dict[str, Any], weights_path: str | Path) -> nn.Module:
    """Rebuild a model and load its weights without unpickling any code."""
    model = build_model(spec)
    state = torch.load(weights_path, map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    return model.eval()
