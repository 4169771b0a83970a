"""A model's architecture as plain data.

The spec is everything `load_model` needs besides the weights: it is stored as JSON in
the package, so a model is rebuilt from data and tensors only, never from pickled code.
`regress_core.model.build` builds the network it describes; this module does not import
torch, so the stage records that carry a spec do not either.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from regress_core.config import ModelConfig, RegressConfig

KINDS = ("linear", "mlp", "embedding_mlp")


def feature_view(kind: str) -> str:
    """The preprocessor's feature view a model of `kind` reads (`Preprocessor.transform_features`).

    A linear model reads the standardised view, whatever scaler is configured: a quantile
    scaler bends a straight line, which a linear model cannot bend back. The networks read
    the configured view.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    return "standard" if kind == "linear" else "configured"


@dataclass(frozen=True)
class ModelSpec:
    """The constructor arguments that rebuild a model's shapes; stored as JSON in the package.

    Attributes:
        kind: "linear", "mlp" or "embedding_mlp".
        n_features: Input width, after preprocessing.
        hidden_sizes: Widths of the hidden layers (empty for linear).
        activation: Hidden activation.
        dropout: Dropout after each hidden layer.
        ensemble_size: Members of the batched ensemble (per fold model).
        n_bins: Piecewise-linear bins per embedded input (embedding_mlp only).
        embedding_dim: Width of each input's embedding (embedding_mlp only).
        embedded: Inputs with embeddings (embedding_mlp only); None embeds every input, as
            packages saved before inputs could pass through did.
        n_folds: Cross-validation fold models averaged in one module; 1 is a single model.
        view: The preprocessor's feature view the model reads: "configured" (the configured
            scaler) or "standard" (standardised). New specs take `feature_view(kind)`; the
            default is what packages saved without the field read.
    """

    kind: str
    n_features: int
    hidden_sizes: tuple[int, ...] = ()
    activation: str = "relu"
    dropout: float = 0.0
    ensemble_size: int = 1
    n_bins: int | None = None
    embedding_dim: int | None = None
    embedded: tuple[int, ...] | None = None
    n_folds: int = 1
    view: str = "configured"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if self.n_folds < 1:
            raise ValueError(f"n_folds must be positive, got {self.n_folds}")
        if self.view not in ("configured", "standard"):
            raise ValueError(f"view must be configured or standard, got {self.view!r}")

    def to_dict(self) -> dict[str, Any]:
        """JSON data, without the fields the kind does not use."""
        data = asdict(self)
        data["hidden_sizes"] = list(self.hidden_sizes)
        if self.kind == "linear":
            return {"kind": self.kind, "n_features": self.n_features, "n_folds": self.n_folds, "view": self.view}
        if self.kind == "embedding_mlp":
            data["embedded"] = None if self.embedded is None else list(self.embedded)
        else:
            for name in ("n_bins", "embedding_dim", "embedded"):
                data.pop(name)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelSpec:
        """Read a spec written by `to_dict` (or by an older version of it, with the old defaults)."""
        known = {name: value for name, value in data.items() if name in cls.__dataclass_fields__}
        known["hidden_sizes"] = tuple(known.get("hidden_sizes", ()))
        if known.get("embedded") is not None:
            known["embedded"] = tuple(known["embedded"])
        if known.get("kind") == "embedding_mlp":
            known.setdefault("embedding_dim", 16)
        return cls(**known)

    @property
    def embedded_inputs(self) -> list[int]:
        """Indices of the inputs with embeddings (empty unless embedding_mlp)."""
        if self.kind != "embedding_mlp":
            return []
        return list(range(self.n_features)) if self.embedded is None else list(self.embedded)


def model_spec(config: ModelConfig, *, n_features: int) -> ModelSpec:
    """The spec of a single model `config` describes completely, for inputs `n_features` wide.

    Fields the configuration leaves to the preset take the default preset's value; fields
    sized to the table must be given (`budget.plan_budget` sizes them otherwise).

    Raises:
        ValueError: the kind is auto, or a field the kind needs is left to be sized.
    """
    resolved = RegressConfig(model=config).resolved().model
    if resolved.kind not in KINDS:
        raise ValueError(f"model_spec needs one model kind, got {resolved.kind!r}")
    if resolved.kind == "linear":
        return ModelSpec(kind="linear", n_features=n_features, view=feature_view("linear"))
    needed = ["hidden_sizes", "ensemble_size"] + (
        ["n_bins", "embedding_dim"] if resolved.kind == "embedding_mlp" else []
    )
    missing = [name for name in needed if getattr(resolved, name) is None]
    if missing:
        raise ValueError(f"model_spec needs explicit {', '.join(missing)}; plan_budget sizes them to a table")
    # Checked above, and the default preset sets activation and dropout: narrowing for mypy.
    assert resolved.hidden_sizes is not None
    assert resolved.ensemble_size is not None
    assert resolved.activation is not None
    assert resolved.dropout is not None
    embedding = resolved.kind == "embedding_mlp"
    return ModelSpec(
        kind=resolved.kind,
        n_features=n_features,
        hidden_sizes=tuple(resolved.hidden_sizes),
        activation=resolved.activation,
        dropout=resolved.dropout,
        ensemble_size=resolved.ensemble_size,
        n_bins=resolved.n_bins if embedding else None,
        embedding_dim=resolved.embedding_dim if embedding else None,
        view=feature_view(resolved.kind),
    )
