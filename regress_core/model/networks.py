"""PyTorch regression models. No I/O here; saving and loading live in `saving`.

Every model maps inputs of shape (batch, n_features) to member predictions of shape
(batch, ensemble_size); the prediction is their mean.
"""

from __future__ import annotations

import torch
from torch import nn

from regress_core.model.embeddings import PiecewiseLinearEmbeddings

ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU, "tanh": nn.Tanh}


class LinearRegressor(nn.Module):
    """One linear layer, the model of the classic tutorials.

    Shapes:
        input (batch, n_features) -> output (batch, 1)
    """

    def __init__(self, *, n_features: int) -> None:
        super().__init__()
        if n_features < 1:
            raise ValueError(f"n_features must be positive, got {n_features=}")
        self.linear = nn.Linear(n_features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x)


class EnsembleLinear(nn.Module):
    """A linear layer with separate weights per ensemble member.

    Shapes:
        input (batch, k, in_features) -> output (batch, k, out_features)
    """

    def __init__(self, *, k: int, in_features: int, out_features: int) -> None:
        super().__init__()
        bound = in_features**-0.5
        self.weight = nn.Parameter(torch.empty(k, in_features, out_features).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(k, out_features).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("bki,kio->bko", x, self.weight) + self.bias


class TabularMLP(nn.Module):
    """MLP, optionally with piecewise-linear embeddings of some inputs and a batched ensemble.

    With `ensemble_size` k > 1 this is TabM-mini: each member scales the shared input
    representation by its own vector, runs the shared hidden layers, and has its own
    output head, so k models train at the cost of one wider batch.

    Only the `embedded` inputs get embeddings; the others (one-hot, binary and
    missing-indicator columns, whose two values a piecewise-linear encoding cannot bend)
    are appended to the embeddings as they are. With every input embedded, the parameters
    are created in the same order as before inputs could pass through, so a seed gives the
    same initial weights.

    Args:
        n_features: Input features.
        hidden_sizes: Widths of the hidden layers, each positive.
        activation: One of "relu", "gelu", "silu", "tanh".
        dropout: Dropout probability after each hidden layer, in [0, 1).
        ensemble_size: Members k, at least 1.
        bin_edges: Shape (n_embedded, n_bins + 1) to embed inputs; None feeds every input raw.
        embedding_dim: Width of each input's embedding.
        embedded: Sorted indices of the inputs to embed; None embeds every input when
            `bin_edges` is given.

    Shapes:
        input (batch, n_features) -> output (batch, ensemble_size)
    """

    embedded_index: torch.Tensor
    passed_index: torch.Tensor

    def __init__(
        self,
        *,
        n_features: int,
        hidden_sizes: list[int],
        activation: str = "relu",
        dropout: float = 0.0,
        ensemble_size: int = 1,
        bin_edges: torch.Tensor | None = None,
        embedding_dim: int = 16,
        embedded: list[int] | None = None,
    ) -> None:
        super().__init__()
        check_network_arguments(
            n_features=n_features,
            hidden_sizes=hidden_sizes,
            activation=activation,
            dropout=dropout,
            ensemble_size=ensemble_size,
        )
        if not hidden_sizes:
            raise ValueError(f"hidden_sizes must be non-empty and positive, got {hidden_sizes=}")
        embedded = split_inputs(n_features, embedded, bin_edges)
        if bin_edges is not None and bin_edges.shape[0] != len(embedded):
            raise ValueError(f"bin_edges has {bin_edges.shape[0]} rows for {len(embedded)} embedded inputs")
        passed = [index for index in range(n_features) if index not in set(embedded)]
        # Not saved with the weights: the model spec records which inputs are embedded.
        self.register_buffer("embedded_index", torch.tensor(embedded, dtype=torch.long), persistent=False)
        self.register_buffer("passed_index", torch.tensor(passed, dtype=torch.long), persistent=False)
        self.ensemble_size = ensemble_size
        self.embeddings = (
            PiecewiseLinearEmbeddings(bin_edges=bin_edges, dim=embedding_dim) if bin_edges is not None else None
        )
        width = len(embedded) * embedding_dim + len(passed) if bin_edges is not None else n_features
        # Random-sign member scalings keep members distinct from the first step (TabM).
        if ensemble_size > 1:
            signs = torch.randint(0, 2, (ensemble_size, width)).float() * 2 - 1
            self.member_scale = nn.Parameter(signs)
        else:
            self.register_buffer("member_scale", torch.ones(1, width))
        layers: list[nn.Module] = []
        for size in hidden_sizes:
            layers += [nn.Linear(width, size), ACTIVATIONS[activation]()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = size
        self.backbone = nn.Sequential(*layers)
        self.head = EnsembleLinear(k=ensemble_size, in_features=width, out_features=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.embeddings is not None:
            if len(self.passed_index):
                x = torch.cat([self.embeddings(x[:, self.embedded_index]), x[:, self.passed_index]], dim=1)
            else:
                x = self.embeddings(x)
        members = x.unsqueeze(1) * self.member_scale  # (batch, k, width)
        return self.head(self.backbone(members)).squeeze(-1)


def check_network_arguments(
    *, n_features: int, hidden_sizes: list[int], activation: str, dropout: float, ensemble_size: int
) -> None:
    """Refuse impossible network arguments at once, naming the bad one."""
    if n_features < 1:
        raise ValueError(f"n_features must be positive, got {n_features=}")
    if any(size < 1 for size in hidden_sizes):
        raise ValueError(f"hidden_sizes must be non-empty and positive, got {hidden_sizes=}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation=}")
    if not 0 <= dropout < 1:
        raise ValueError(f"dropout must be in [0, 1), got {dropout=}")
    if ensemble_size < 1:
        raise ValueError(f"ensemble_size must be positive, got {ensemble_size=}")


def split_inputs(n_features: int, embedded: list[int] | None, bin_edges: torch.Tensor | None) -> list[int]:
    """The embedded input indices, checked: every input when `embedded` is None and bins are given."""
    if embedded is None:
        return list(range(n_features)) if bin_edges is not None else []
    if list(embedded) != sorted(set(embedded)) or any(not 0 <= index < n_features for index in embedded):
        raise ValueError(f"embedded must be sorted, distinct input indices below {n_features}, got {embedded}")
    if embedded and bin_edges is None:
        raise ValueError("embedded inputs need bin_edges")
    return list(embedded)
