"""PyTorch regression models. No I/O here; saving and loading live in `saving`.

Every model maps inputs of shape (batch, n_features) to member predictions of shape
(batch, ensemble_size); the prediction is their mean.
"""

from __future__ import annotations

import torch
from torch import nn

from regress_core.model.embeddings import PiecewiseLinearEmbeddings
from regress_core.model.layers import ACTIVATIONS, Dropout, build_layers, uniform_parameter


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

    Args:
        k: Members.
        in_features: Inputs of each member.
        out_features: Outputs of each member.
        weight: Initial weight (k, in_features, out_features), given with `bias`; None draws
            both uniformly in ±in_features^-1/2.
        bias: Initial bias (k, out_features).

    Shapes:
        input (batch, k, in_features) -> output (batch, k, out_features)
    """

    def __init__(
        self,
        *,
        k: int,
        in_features: int,
        out_features: int,
        weight: nn.Parameter | None = None,
        bias: nn.Parameter | None = None,
    ) -> None:
        super().__init__()
        if weight is None or bias is None:
            if weight is not None or bias is not None:
                raise ValueError("give EnsembleLinear both weight and bias, or neither")
            weight = uniform_parameter((k, in_features, out_features), in_features)
            bias = uniform_parameter((k, out_features), in_features)
        if weight.shape != (k, in_features, out_features) or bias.shape != (k, out_features):
            raise ValueError(
                f"weight and bias must have shapes {(k, in_features, out_features)} and {(k, out_features)}, "
                f"got {tuple(weight.shape)} and {tuple(bias.shape)}"
            )
        self.weight, self.bias = weight, bias

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
    member_scale: torch.Tensor

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
        if not hidden_sizes:
            raise ValueError(f"hidden_sizes must be non-empty and positive, got {hidden_sizes=}")
        layers = build_layers(
            n_features=n_features,
            hidden_sizes=hidden_sizes,
            activation=activation,
            dropout=dropout,
            ensemble_size=ensemble_size,
            bin_edges=bin_edges,
            embedding_dim=embedding_dim,
            embedded=embedded,
        )
        self.ensemble_size = ensemble_size
        self.embeddings = _embeddings(bin_edges, layers.embedding, embedding_dim)
        layers.register_inputs_and_scale(self)
        modules: list[nn.Module] = []
        for weight, bias in layers.hidden:
            modules += [_linear(weight, bias), ACTIVATIONS[activation]()]
            if dropout > 0:
                modules.append(Dropout(dropout))
        self.backbone = nn.Sequential(*modules)
        head_weight, head_bias = layers.head
        self.head = EnsembleLinear(
            k=ensemble_size, in_features=head_weight.shape[1], out_features=1, weight=head_weight, bias=head_bias
        )

    @property
    def encoded_per_row(self) -> int:
        """Values in one row's bin encoding (0 without embeddings)."""
        if self.embeddings is None:
            return 0
        n_embedded, n_edges = self.embeddings.bin_edges.shape
        return int(n_embedded * (n_edges - 1))

    def encode_inputs(self, x: torch.Tensor) -> torch.Tensor | None:
        """The bin encoding of rows x (n, n_features) -> (n, n_embedded, n_bins); None without embeddings.

        It depends on the inputs and the fitted bins alone, so training can encode every row
        once and hand each step its rows' encodings (`forward`'s `encoded`).
        """
        if self.embeddings is None:
            return None
        return self.embeddings.encode(x[:, self.embedded_index] if len(self.passed_index) else x)

    def forward(self, x: torch.Tensor, encoded: torch.Tensor | None = None) -> torch.Tensor:
        """Predictions (batch, k); `encoded`, where given, is `encode_inputs(x)` computed before."""
        if self.embeddings is not None:
            if len(self.passed_index):
                embedded = self.embeddings(x[:, self.embedded_index], encoded)
                x = torch.cat([embedded, x[:, self.passed_index]], dim=1)
            else:
                x = self.embeddings(x, encoded)
        members = x.unsqueeze(1) * self.member_scale  # (batch, k, width)
        return self.head(self.backbone(members)).squeeze(-1)


def _embeddings(
    bin_edges: torch.Tensor | None, weights: tuple[nn.Parameter, nn.Parameter] | None, dim: int
) -> PiecewiseLinearEmbeddings | None:
    if bin_edges is None or weights is None:
        return None
    return PiecewiseLinearEmbeddings(bin_edges=bin_edges, dim=dim, weight=weights[0], bias=weights[1])


def _linear(weight: nn.Parameter, bias: nn.Parameter) -> nn.Linear:
    """An `nn.Linear` holding a weight (out, in) and a bias (out,), drawing no numbers of its own."""
    linear = nn.utils.skip_init(nn.Linear, weight.shape[1], weight.shape[0])
    linear.weight, linear.bias = weight, bias
    return linear
