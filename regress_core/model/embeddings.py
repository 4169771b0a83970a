"""Numeric feature embeddings: piecewise-linear encoding of each feature (Gorishniy et al.)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from regress_core.model.layers import uniform_parameter


def compute_bin_edges(x: np.ndarray, *, n_bins: int) -> torch.Tensor:
    """Quantile bin edges of each feature, shape (n_features, n_bins + 1), float32.

    Features with fewer distinct values than bins get repeated edges; the encoding treats a
    zero-width bin as a step.

    Args:
        x: Training inputs, shape (n_rows, n_features).
        n_bins: Bins per feature, at least 1.
    """
    if n_bins < 1:
        raise ValueError(f"n_bins must be positive, got {n_bins=}")
    if x.ndim != 2 or len(x) == 0:
        raise ValueError(f"x must be a non-empty 2-D array, got shape {x.shape}")
    quantiles = np.linspace(0.0, 1.0, n_bins + 1)
    edges = np.quantile(x.astype("float64"), quantiles, axis=0).T
    return torch.as_tensor(np.ascontiguousarray(edges), dtype=torch.float32)


def encode_bins(x: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
    """How far each value fills each of its feature's bins.

    The first and last bins extrapolate linearly beyond the training range when they have
    width. Zero-width bins (many rows sharing a value, such as a cap) are steps, computed
    on the value clipped to the training range: a value past the range encodes as the
    range's end, never as a fraction of a zero width.

    Args:
        x: Values, shape (..., n_features).
        edges: Sorted bin edges, shape (n_features, n_bins + 1), or any shape that
            broadcasts against x's leading axes with those two last axes.

    Returns:
        Shape (..., n_features, n_bins).
    """
    left = edges[..., :-1]
    raw_width = edges[..., 1:] - left
    wide = raw_width > 1e-6
    width = raw_width.clamp_min(1e-6)
    inside = torch.minimum(torch.maximum(x, edges[..., 0]), edges[..., -1]).unsqueeze(-1)
    fill = ((inside - left) / width).clamp(0.0, 1.0)
    outer = (x.unsqueeze(-1) - left) / width
    if fill.shape[-1] == 1:
        return torch.where(wide, outer, fill)
    first = torch.where(wide[..., :1], outer[..., :1].clamp_max(1.0), fill[..., :1])
    last = torch.where(wide[..., -1:], outer[..., -1:].clamp_min(0.0), fill[..., -1:])
    return torch.cat([first, fill[..., 1:-1], last], dim=-1)


class PiecewiseLinearEmbeddings(nn.Module):
    """Encode each feature by how far it fills each of its bins, then embed it linearly.

    Args:
        bin_edges: Shape (n_features, n_bins + 1), sorted along the last axis.
        dim: Embedding width per feature.
        weight: Initial weight (n_features, n_bins, dim), given with `bias`; None draws both
            uniformly in ±n_bins^-1/2.
        bias: Initial bias (n_features, dim).

    Shapes:
        input (batch, n_features) -> output (batch, n_features * dim)
    """

    bin_edges: torch.Tensor

    def __init__(
        self,
        *,
        bin_edges: torch.Tensor,
        dim: int,
        weight: nn.Parameter | None = None,
        bias: nn.Parameter | None = None,
    ) -> None:
        super().__init__()
        if bin_edges.ndim != 2 or bin_edges.shape[1] < 2:
            raise ValueError(f"bin_edges must have shape (n_features, n_bins + 1), got {tuple(bin_edges.shape)}")
        if dim < 1:
            raise ValueError(f"dim must be positive, got {dim=}")
        n_features, n_bins = bin_edges.shape[0], bin_edges.shape[1] - 1
        if weight is None or bias is None:
            if weight is not None or bias is not None:
                raise ValueError("give PiecewiseLinearEmbeddings both weight and bias, or neither")
            weight = uniform_parameter((n_features, n_bins, dim), n_bins)
            bias = uniform_parameter((n_features, dim), n_bins)
        if weight.shape != (n_features, n_bins, dim) or bias.shape != (n_features, dim):
            raise ValueError(
                f"weight and bias must have shapes {(n_features, n_bins, dim)} and {(n_features, dim)}, "
                f"got {tuple(weight.shape)} and {tuple(bias.shape)}"
            )
        self.register_buffer("bin_edges", bin_edges.clone())
        self.weight, self.bias = weight, bias

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, n_features) -> (batch, n_features, n_bins) bin fill fractions (see `encode_bins`)."""
        return encode_bins(x, self.bin_edges)

    def forward(self, x: torch.Tensor, encoded: torch.Tensor | None = None) -> torch.Tensor:
        """Embeddings of `x`; `encoded`, where given, is `encode(x)` computed before."""
        encoded = self.encode(x) if encoded is None else encoded
        embedded = torch.einsum("bft,ftd->bfd", encoded, self.weight) + self.bias
        return torch.relu(embedded).flatten(1)
