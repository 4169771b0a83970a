"""A model's architecture as plain data, and building the network it describes."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from regress_core.config import ModelConfig
from regress_core.model.embeddings import compute_bin_edges
from regress_core.model.networks import LinearRegressor, TabularMLP


@dataclass(frozen=True)
class ModelSpec:
    """The constructor arguments that rebuild a model's shapes; stored as JSON in the package.

    Attributes:
        kind: "linear", "mlp" or "embedding_mlp".
        n_features: Input width, after preprocessing.
        hidden_sizes: Widths of the hidden layers (empty for linear).
        activation: Hidden activation.
        dropout: Dropout after each hidden layer.
        ensemble_size: Members of the batched ensemble.
        n_bins: Piecewise-linear bins per feature (embedding_mlp only).
        embedding_dim: Width of each feature's embedding (embedding_mlp only).
    """

    kind: str
    n_features: int
    hidden_sizes: tuple[int, ...] = ()
    activation: str = "relu"
    dropout: float = 0.0
    ensemble_size: int = 1
    n_bins: int | None = None
    embedding_dim: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON data, without the fields the kind does not use."""
        data = asdict(self)
        data["hidden_sizes"] = list(self.hidden_sizes)
        if self.kind == "linear":
            return {"kind": self.kind, "n_features": self.n_features}
        if self.kind != "embedding_mlp":
            data.pop("n_bins")
            data.pop("embedding_dim")
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelSpec:
        """Read a spec written by `to_dict` (or by an older version of it)."""
        known = {name: value for name, value in data.items() if name in cls.__dataclass_fields__}
        known["hidden_sizes"] = tuple(known.get("hidden_sizes", ()))
        if known.get("kind") == "embedding_mlp":
            known.setdefault("embedding_dim", 16)
        return cls(**known)


def model_spec(config: ModelConfig, *, n_features: int) -> ModelSpec:
    """The spec of the model `config` describes, for inputs `n_features` wide."""
    if config.kind == "linear":
        return ModelSpec(kind="linear", n_features=n_features)
    return ModelSpec(
        kind=config.kind,
        n_features=n_features,
        hidden_sizes=tuple(config.hidden_sizes),
        activation=config.activation,
        dropout=config.dropout,
        ensemble_size=config.ensemble_size,
        n_bins=config.n_bins if config.kind == "embedding_mlp" else None,
        embedding_dim=config.embedding_dim if config.kind == "embedding_mlp" else None,
    )


def build_model(spec: ModelSpec, *, x_train: np.ndarray | None = None) -> nn.Module:
    """Construct a model from its spec.

    Args:
        spec: The architecture.
        x_train: Training inputs, shape (n_rows, n_features); sets the embedding bins.
            None leaves placeholder bins, to be replaced by `load_state_dict`.
    """
    if spec.kind == "linear":
        return LinearRegressor(n_features=spec.n_features)
    bin_edges = None
    if spec.kind == "embedding_mlp":
        n_bins = spec.n_bins or 2
        if x_train is not None:
            bin_edges = compute_bin_edges(x_train, n_bins=n_bins)
        else:
            bin_edges = torch.zeros(spec.n_features, n_bins + 1)
    return TabularMLP(
        n_features=spec.n_features,
        hidden_sizes=list(spec.hidden_sizes),
        activation=spec.activation,
        dropout=spec.dropout,
        ensemble_size=spec.ensemble_size,
        bin_edges=bin_edges,
        embedding_dim=spec.embedding_dim or 16,
    )
