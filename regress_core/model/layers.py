"""The layers of the tabular MLP, built in one place for one model or for K fold models side by side.

`TabularMLP` (one model) and `FoldStackedMLP` (K fold models in one module) share one
architecture: piecewise-linear embeddings of some inputs with the others passed through,
a per-member scaling of that representation, hidden layers, and one output head per
ensemble member. `build_layers` checks the arguments and creates the parameters for both,
always in that order and each drawn uniformly in ±fan_in^-1/2 (`nn.Linear`'s
initialisation) from the global generator, so a seed fixes a network's initial weights.
Fold models carry a leading fold axis K on every tensor.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU, "tanh": nn.Tanh}

Weights = tuple[nn.Parameter, nn.Parameter]


@dataclass(eq=False, kw_only=True)
class Layers:
    """The checked inputs and the initial parameters of a tabular MLP.

    `*K` is the fold axis: (K,) for fold models, absent for one model.

    Attributes:
        embedded: Sorted indices of the inputs with embeddings.
        passed: Indices of the inputs appended to the embeddings as they are.
        embedding: Weight (*K, n_embedded, n_bins, dim) and bias (*K, n_embedded, dim) of
            the piecewise-linear embeddings; None feeds every input raw.
        member_scale: Random signs (*K, k, width), a parameter, with k > 1 members; ones
            (*K, 1, width), a constant, with one.
        hidden: Weight and bias of each hidden layer: (out, in) and (out,) for one model, as
            `nn.Linear` holds them; (K, in, out) and (K, 1, out) for fold models, as
            `torch.baddbmm` takes them.
        head: Weight and bias of the members' output heads: (k, width, 1) and (k, 1) for one
            model, as `EnsembleLinear` holds them; (K, k, width) and (K, 1, k) for fold models.
    """

    embedded: list[int]
    passed: list[int]
    embedding: Weights | None
    member_scale: torch.Tensor
    hidden: list[Weights]
    head: Weights

    def register_inputs_and_scale(self, module: nn.Module) -> None:
        """Give `module` the buffers `embedded_index` and `passed_index`, and `member_scale`.

        The indices are not saved with the weights (the model spec records which inputs
        are embedded); the member scaling is, as a parameter or as a buffer of ones.
        """
        module.register_buffer("embedded_index", torch.tensor(self.embedded, dtype=torch.long), persistent=False)
        module.register_buffer("passed_index", torch.tensor(self.passed, dtype=torch.long), persistent=False)
        if isinstance(self.member_scale, nn.Parameter):
            module.register_parameter("member_scale", self.member_scale)
        else:
            module.register_buffer("member_scale", self.member_scale)


def build_layers(
    *,
    n_features: int,
    hidden_sizes: list[int],
    activation: str,
    dropout: float,
    ensemble_size: int,
    bin_edges: torch.Tensor | None,
    embedding_dim: int,
    embedded: list[int] | None,
    n_folds: int | None = None,
) -> Layers:
    """Check a tabular MLP's arguments and draw its parameters from the global generator.

    Args:
        n_features: Model inputs.
        hidden_sizes: Widths of the hidden layers (may be empty).
        activation: Hidden activation name.
        dropout: Dropout after each hidden layer, in [0, 1).
        ensemble_size: Members k.
        bin_edges: Shape (*K, n_embedded, n_bins + 1) to embed inputs; None feeds every input raw.
        embedding_dim: Width of each input's embedding.
        embedded: Sorted indices of the inputs to embed; None embeds every input when
            `bin_edges` is given.
        n_folds: K fold models side by side; None builds one model.
    """
    check_network_arguments(
        n_features=n_features,
        hidden_sizes=hidden_sizes,
        activation=activation,
        dropout=dropout,
        ensemble_size=ensemble_size,
    )
    folds = () if n_folds is None else (n_folds,)
    embedded = split_inputs(n_features, embedded, bin_edges)
    passed = [index for index in range(n_features) if index not in set(embedded)]
    embedding, width = None, n_features
    if bin_edges is not None:
        embedding = _embedding(bin_edges, folds, len(embedded), embedding_dim)
        width = len(embedded) * embedding_dim + len(passed)
    # Random-sign member scalings keep members distinct from the first step (TabM).
    if ensemble_size > 1:
        member_scale: torch.Tensor = nn.Parameter(torch.randint(0, 2, (*folds, ensemble_size, width)).float() * 2 - 1)
    else:
        member_scale = torch.ones(*folds, 1, width)
    hidden = []
    for size in hidden_sizes:
        hidden.append(_dense(n_folds, width, size))
        width = size
    return Layers(
        embedded=embedded,
        passed=passed,
        embedding=embedding,
        member_scale=member_scale,
        hidden=hidden,
        head=_head(n_folds, ensemble_size, width),
    )


DROPOUT_LEVELS = 1 << 16


def cheap_dropout(h: torch.Tensor, p: float) -> torch.Tensor:
    """Dropout whose mask comes from 16-bit uniform levels cut out of 64-bit random words.

    On a CPU, torch's dropout draws one Bernoulli sample per activation, a fifth of a
    training step on small tables. A quarter as many 64-bit draws give every activation its
    own 16-bit level; with the rescaling folded into the mask, forward and backward
    together cost a third as much (a batch of 1,760 x 256 bfloat16 activations: 1.1 ms
    against 3.8 ms). The drop probability is rounded to a multiple of 1/65536 (at most
    65535/65536); the survivors are rescaled by the inverse of their keep probability, in
    the activations' precision, as torch's CPU dropout does. On other devices this is
    `nn.functional.dropout`.
    """
    if h.device.type != "cpu":
        return nn.functional.dropout(h, p, True)
    dropped = min(round(p * DROPOUT_LEVELS), DROPOUT_LEVELS - 1)
    n = h.numel()
    words = torch.randint(-(2**63), 2**63 - 1, (-(-n // 4),), dtype=torch.int64)
    levels = words.view(torch.int16)[:n].view(h.shape)  # uniform in [-32768, 32767]
    keep = levels >= dropped - DROPOUT_LEVELS // 2
    return h * keep.to(h.dtype).mul_(DROPOUT_LEVELS / (DROPOUT_LEVELS - dropped))


class Dropout(nn.Module):
    """`cheap_dropout` as a layer: active in training mode only, like `nn.Dropout`.

    Args:
        p: Probability of dropping each activation, in [0, 1).
    """

    def __init__(self, p: float) -> None:
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"dropout must be in [0, 1), got {p}")
        self.p = p

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """`h` with dropout in training mode; `h` itself in evaluation mode."""
        return cheap_dropout(h, self.p) if self.training and self.p > 0 else h

    def extra_repr(self) -> str:
        return f"p={self.p}"


def uniform_parameter(shape: tuple[int, ...], fan_in: int) -> nn.Parameter:
    """A parameter drawn uniformly in ±fan_in^-1/2, as `nn.Linear` draws its weights and biases."""
    bound = fan_in**-0.5
    return nn.Parameter(torch.empty(shape).uniform_(-bound, bound))


def _embedding(bin_edges: torch.Tensor, folds: tuple[int, ...], n_embedded: int, dim: int) -> Weights:
    if bin_edges.shape[:-1] != (*folds, n_embedded) or bin_edges.shape[-1] < 2:
        expected = ", ".join(str(size) for size in (*folds, n_embedded))
        raise ValueError(f"bin_edges must have shape ({expected}, n_bins + 1), got {tuple(bin_edges.shape)}")
    n_bins = bin_edges.shape[-1] - 1
    weight = uniform_parameter((*folds, n_embedded, n_bins, dim), n_bins)
    return weight, uniform_parameter((*folds, n_embedded, dim), n_bins)


def _dense(n_folds: int | None, fan_in: int, fan_out: int) -> Weights:
    if n_folds is None:
        return uniform_parameter((fan_out, fan_in), fan_in), uniform_parameter((fan_out,), fan_in)
    return uniform_parameter((n_folds, fan_in, fan_out), fan_in), uniform_parameter((n_folds, 1, fan_out), fan_in)


def _head(n_folds: int | None, k: int, fan_in: int) -> Weights:
    if n_folds is None:
        return uniform_parameter((k, fan_in, 1), fan_in), uniform_parameter((k, 1), fan_in)
    return uniform_parameter((n_folds, k, fan_in), fan_in), uniform_parameter((n_folds, 1, k), fan_in)


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
