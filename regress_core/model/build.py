"""Building the network a `ModelSpec` describes."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from regress_core.model.embeddings import compute_bin_edges
from regress_core.model.fold_network import FoldStackedMLP
from regress_core.model.networks import LinearRegressor, TabularMLP
from regress_core.model.spec import ModelSpec


def build_model(
    spec: ModelSpec, *, x_train: np.ndarray | None = None, bin_edges: torch.Tensor | None = None
) -> nn.Module:
    """Construct a model from its spec.

    Args:
        spec: The architecture.
        x_train: Training inputs, shape (n_rows, n_features); sets the embedding bins of a
            single model.
        bin_edges: The bins themselves, for fold models (n_folds, n_embedded, n_bins + 1).
            With neither, placeholder bins wait for `load_state_dict`.
    """
    embedded = spec.embedded_inputs
    n_bins = spec.n_bins or 2
    if embedded and bin_edges is None:
        if x_train is not None and spec.n_folds == 1:
            bin_edges = compute_bin_edges(x_train[:, embedded], n_bins=n_bins)
        else:
            shape = (spec.n_folds, len(embedded), n_bins + 1) if spec.n_folds > 1 else (len(embedded), n_bins + 1)
            bin_edges = torch.zeros(shape)
    if spec.n_folds > 1:
        return FoldStackedMLP(
            n_folds=spec.n_folds,
            n_features=spec.n_features,
            hidden_sizes=list(spec.hidden_sizes),
            activation=spec.activation,
            dropout=spec.dropout,
            ensemble_size=spec.ensemble_size,
            embedded=embedded,
            bin_edges=bin_edges if embedded else None,
            embedding_dim=spec.embedding_dim or 16,
        )
    if spec.kind == "linear":
        return LinearRegressor(n_features=spec.n_features)
    return TabularMLP(
        n_features=spec.n_features,
        hidden_sizes=list(spec.hidden_sizes),
        activation=spec.activation,
        dropout=spec.dropout,
        ensemble_size=spec.ensemble_size,
        bin_edges=bin_edges if embedded else None,
        embedding_dim=spec.embedding_dim or 16,
        embedded=embedded if embedded else None,
    )
