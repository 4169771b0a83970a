"""Cross-validation fold models stacked in one network, so one optimizer step trains them all.

Training k fold models one after the other costs k times the per-step Python and autograd
overhead, which dominates on small tables. `FoldStackedMLP` holds K independent copies of
`TabularMLP`'s architecture (`layers.build_layers` makes both): every weight has a leading
fold axis and nothing is shared, so fold f's model never sees fold f's held-out rows. The
losses are summed over folds, and AdamW, weight decay and EMA act element-wise, so training
them together equals training them apart. Predicting on plain rows returns every fold's
members side by side, so the mean prediction is the average of the fold models: one module
to save and to load.
"""

from __future__ import annotations

import torch
from torch import nn

from regress_core.model.embeddings import encode_bins
from regress_core.model.layers import ACTIVATIONS, build_layers, cheap_dropout


class FoldStackedMLP(nn.Module):
    """K fold models of one architecture, each a batched ensemble of k members.

    With no hidden layer (and k = 1) each fold model is a linear regression.

    Args:
        n_folds: K, at least 2.
        n_features: Model inputs.
        hidden_sizes: Widths of the hidden layers (may be empty).
        activation: Hidden activation name.
        dropout: Dropout after each hidden layer, in [0, 1).
        ensemble_size: Members k per fold model.
        embedded: Sorted indices of the inputs to embed (may be empty).
        bin_edges: Shape (K, len(embedded), n_bins + 1), fitted on each fold's training rows;
            required when `embedded` is non-empty.
        embedding_dim: Width of each embedded input.

    Shapes:
        input (K, batch, n_features) -> (K, batch, k): fold f's model on fold f's rows (with,
            optionally, their encodings (K, batch, n_embedded, n_bins) from `encode_inputs`).
        input (batch, n_features) -> (batch, K * k): every fold model's members.
    """

    embedded_index: torch.Tensor
    passed_index: torch.Tensor
    member_scale: torch.Tensor
    bin_edges: torch.Tensor | None

    def __init__(
        self,
        *,
        n_folds: int,
        n_features: int,
        hidden_sizes: list[int],
        activation: str = "relu",
        dropout: float = 0.0,
        ensemble_size: int = 1,
        embedded: list[int] | None = None,
        bin_edges: torch.Tensor | None = None,
        embedding_dim: int = 16,
    ) -> None:
        super().__init__()
        if n_folds < 2:
            raise ValueError(f"n_folds must be at least 2, got {n_folds=}")
        layers = build_layers(
            n_features=n_features,
            hidden_sizes=hidden_sizes,
            activation=activation,
            dropout=dropout,
            ensemble_size=ensemble_size,
            bin_edges=bin_edges if embedded else None,
            embedding_dim=embedding_dim,
            embedded=embedded or [],
            n_folds=n_folds,
        )
        self.n_folds, self.ensemble_size, self.dropout = n_folds, ensemble_size, dropout
        self.activation = ACTIVATIONS[activation]()
        if layers.embedding is not None:
            assert bin_edges is not None  # build_layers embeds nothing without bins
            self.register_buffer("bin_edges", bin_edges.clone())
            self.emb_weight, self.emb_bias = layers.embedding
        else:
            self.bin_edges = None
        layers.register_inputs_and_scale(self)
        self.weights = nn.ParameterList(weight for weight, _ in layers.hidden)
        self.biases = nn.ParameterList(bias for _, bias in layers.hidden)
        self.head_weight, self.head_bias = layers.head
        self.widest = max([n_features, self.head_weight.shape[-1], *hidden_sizes])

    @property
    def activations_per_row(self) -> int:
        """Floats one input row takes in the widest layer (bounds the rows predicted at once)."""
        return self.n_folds * self.ensemble_size * self.widest

    @property
    def encoded_per_row(self) -> int:
        """Values in one row's bin encoding for one fold model (0 without embedded inputs)."""
        return 0 if self.bin_edges is None else self.bin_edges.shape[1] * (self.bin_edges.shape[2] - 1)

    def encode_inputs(self, x: torch.Tensor) -> torch.Tensor | None:
        """Each fold model's bin encoding of its rows: (K, n, n_features) -> (K, n, n_embedded, n_bins).

        It depends on the inputs and the fitted bins alone, so training can encode every row
        once and hand each step its rows' encodings (`forward`'s `encoded`). None without
        embedded inputs.
        """
        if self.bin_edges is None:
            return None
        return encode_bins(x[..., self.embedded_index], self.bin_edges[:, None])

    def _folds_forward(self, x: torch.Tensor, encoded: torch.Tensor | None = None) -> torch.Tensor:
        n_folds, n_rows, _ = x.shape
        if self.bin_edges is not None:
            if encoded is None:
                encoded = encode_bins(x[..., self.embedded_index], self.bin_edges[:, None])
            embedded = torch.einsum("knfb,kfbd->knfd", encoded, self.emb_weight) + self.emb_bias[:, None]
            x = torch.cat([torch.relu(embedded).flatten(2), x[..., self.passed_index]], dim=-1)
        h = (x.unsqueeze(2) * self.member_scale[:, None]).reshape(n_folds, n_rows * self.ensemble_size, -1)
        for weight, bias in zip(self.weights, self.biases, strict=True):
            h = self.activation(torch.baddbmm(bias, h, weight))
            if self.dropout > 0 and self.training:
                h = cheap_dropout(h, self.dropout)
        h = h.reshape(n_folds, n_rows, self.ensemble_size, -1)
        return torch.einsum("knmh,kmh->knm", h, self.head_weight) + self.head_bias

    def forward(self, x: torch.Tensor, encoded: torch.Tensor | None = None) -> torch.Tensor:
        """Predictions; `encoded`, with fold rows x (K, n, n_features), is `encode_inputs(x)` computed before."""
        if x.dim() == 3:
            return self._folds_forward(x, encoded)
        if encoded is not None:
            raise ValueError("encodings go with fold rows (K, n, n_features); each fold model encodes plain rows")
        out = self._folds_forward(x.unsqueeze(0).expand(self.n_folds, -1, -1))  # (K, n, k)
        # Row-major (n, K * k), so that a row's mean never depends on the rows predicted with it.
        return out.permute(1, 0, 2).reshape(x.shape[0], -1).contiguous()
