"""Training one network on a validation split, and one model a configuration describes.

`fit_network` trains a single network on shuffled mini-batches of its training rows,
early-stopped on its validation rows (`loop.train_loop`); it takes concrete settings
(`optim.TrainSettings`, nothing left to size). `train_model` trains one model a
configuration describes, sizing what it leaves open to the table with `budget.plan_budget`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from regress_core.config import ModelConfig, RegressConfig, TrainConfig
from regress_core.model.budget import Budget, plan_budget
from regress_core.model.build import build_model
from regress_core.model.device import resolve_device, resolve_precision
from regress_core.model.loop import EpochRecord, Inputs, Validation, encode_once, train_loop
from regress_core.model.optim import TrainSettings
from regress_core.model.predict import predict_scaled
from regress_core.model.spec import ModelSpec, feature_view


@dataclass
class TrainResult:
    """A trained model (on CPU, best validation weights) and how it got there."""

    model: nn.Module
    spec: ModelSpec
    history: list[EpochRecord] = field(default_factory=list)
    best_epoch: int = 0
    best_val_loss: float = math.nan
    stopped_early: bool = False
    device: str = "cpu"
    precision: str = "float32"


@dataclass(frozen=True)
class RowBatches:
    """Training rows shuffled every epoch and cut into batches; the last batch may be smaller.

    Attributes:
        x: Inputs, shape (n_rows, n_features), on the training device.
        y: Targets, shape (n_rows,).
        batch_size: Rows per batch (at most n_rows are used).
        encoded: The network's bin encodings of every row, (n_rows, n_embedded, n_bins)
            (`encode_inputs`), or None: the network encodes each batch.
    """

    x: torch.Tensor
    y: torch.Tensor
    batch_size: int
    encoded: torch.Tensor | None = None

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(len(self.x) / min(self.batch_size, len(self.x)))

    def epoch(self, generator: torch.Generator) -> Iterator[tuple[Inputs, torch.Tensor]]:
        """Batches (batch, n_features) and (batch,) of one permutation of the rows (with their encodings)."""
        n_rows = len(self.x)
        batch = min(self.batch_size, n_rows)
        order = torch.randperm(n_rows, generator=generator).to(self.x.device)
        for start in range(0, n_rows, batch):
            index = order[start : start + batch]
            if self.encoded is None:
                yield self.x[index], self.y[index]
            else:
                yield (self.x[index], self.encoded[index]), self.y[index]


def fit_network(
    spec: ModelSpec,
    settings: TrainSettings,
    *,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    on_epoch: Callable[[EpochRecord], None] | None = None,
    progress: bool = False,
    candidate: str = "",
) -> TrainResult:
    """Train the model `spec` describes from scratch; keep the weights of its best validation check.

    Args:
        spec: A single model's architecture (n_folds 1); its bins are fitted on `x_train`.
        settings: Optimisation settings; `seed` makes the run reproducible.
        x_train: Scaled inputs, shape (n_train, n_features), float32.
        y_train: Scaled targets, shape (n_train,).
        x_val: Scaled validation inputs, shape (n_val, n_features).
        y_val: Scaled validation targets, shape (n_val,).
        on_epoch: Called after every validation check (for logs).
        progress: Show a progress bar on the terminal.
        candidate: Name put in the epoch records.

    Raises:
        TrainingError: if the loss becomes NaN or infinite.
    """
    device = resolve_device(settings.device)
    precision = resolve_precision(settings.precision, device)
    torch.manual_seed(settings.seed)
    model = build_model(spec, x_train=x_train).to(device)
    xt, yt, xv = (torch.tensor(array, dtype=torch.float32, device=device) for array in (x_train, y_train, x_val))
    run = train_loop(
        model,
        RowBatches(x=xt, y=yt, batch_size=settings.batch_size, encoded=_first(encode_once(model, xt))),
        _split_validation(xv, y_val),
        settings,
        precision=precision,
        on_epoch=on_epoch,
        progress=progress,
        candidate=candidate,
    )
    # Under weight averaging the best weights are the averaged copy's; a fresh module takes them.
    final = build_model(spec).to(device) if settings.ema_decay > 0 else model
    final.load_state_dict(run.best_state)
    return TrainResult(
        model=final.cpu().eval(),
        spec=spec,
        history=run.history,
        best_epoch=run.best_epochs[0],
        best_val_loss=float(run.best_losses[0]),
        stopped_early=run.stopped_early,
        device=str(device),
        precision=str(precision).removeprefix("torch."),
    )


def _first(encoded: tuple[torch.Tensor, ...] | None) -> torch.Tensor | None:
    return encoded[0] if encoded is not None else None


def _split_validation(x_val: torch.Tensor, y_val: np.ndarray) -> Validation:
    """Scores a single model by its MSE on the validation rows (one model: shape (1,))."""

    def validate(model: nn.Module) -> tuple[torch.Tensor, float]:
        mse = float(np.mean((predict_scaled(model, x_val) - y_val) ** 2))
        return torch.tensor([mse], dtype=torch.float64), mse

    return validate


def train_model(
    *,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    model_config: ModelConfig,
    train_config: TrainConfig,
    on_epoch: Callable[[EpochRecord], None] | None = None,
    progress: bool = False,
) -> TrainResult:
    """Train one model of `model_config.kind` on one validation split, every input embedded.

    Fields both configurations leave empty take the default preset's value or are sized
    to the table (`plan_budget`). Model selection (kind auto, cross-validation, inputs that
    bypass the embeddings) lives in `regress_core.model.selection`. The inputs are the
    preprocessor's view for the kind (`spec.feature_view`; the result's spec records it).

    Raises:
        ValueError: the kind is auto.
        TrainingError: if the loss becomes NaN or infinite.
    """
    resolved = RegressConfig(model=model_config, train=train_config).resolved()
    kind = resolved.model.kind
    if kind is None or kind == "auto":
        raise ValueError(
            "train_model trains one model kind; for kind auto use regress_core.pipeline.frames.fit_frames "
            "(or regress_core.model.selection.select_model)"
        )
    n_features = x_train.shape[1]
    budget = plan_budget(
        kind=kind,
        n_train=len(x_train),
        n_inputs=n_features,
        n_embedded=n_features,
        model=resolved.model,
        train=resolved.train,
    )
    spec = network_spec(kind, budget, model=resolved.model, embedded=list(range(n_features)))
    settings = TrainSettings.from_config(resolved.train, budget)
    return fit_network(
        spec, settings, x_train=x_train, y_train=y_train, x_val=x_val, y_val=y_val, on_epoch=on_epoch, progress=progress
    )


def network_spec(kind: str, budget: Budget, *, model: ModelConfig, embedded: list[int], n_folds: int = 1) -> ModelSpec:
    """The spec of a network of `kind` with a budget's sizes and a resolved config's activation and dropout.

    It reads the feature view of its kind (`feature_view`).
    """
    if kind == "linear":
        return ModelSpec(kind="linear", n_features=budget.inputs, n_folds=n_folds, view=feature_view(kind))
    if model.activation is None or model.dropout is None:
        raise ValueError("model activation and dropout are unset; resolve the configuration first")
    embedding = kind == "embedding_mlp"
    return ModelSpec(
        kind=kind,
        n_features=budget.inputs,
        hidden_sizes=budget.hidden_sizes,
        activation=model.activation,
        dropout=model.dropout,
        ensemble_size=budget.ensemble_size,
        n_bins=budget.n_bins if embedding else None,
        embedding_dim=budget.embedding_dim if embedding else None,
        embedded=tuple(embedded) if embedding else None,
        n_folds=n_folds,
        view=feature_view(kind),
    )
