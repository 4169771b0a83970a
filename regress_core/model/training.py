"""Training a PyTorch regression model: seeded, mini-batched, early-stopped on validation.

`fit_network` is the loop; it takes concrete settings (`optim.TrainSettings`, nothing left
to size). `train_model` trains one model a configuration describes, sizing what it leaves
open to the table with `budget.plan_budget`.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from regress_core.config import ModelConfig, RegressConfig, TrainConfig
from regress_core.errors import TrainingError
from regress_core.failpoints import failpoint
from regress_core.model.budget import Budget, plan_budget
from regress_core.model.device import resolve_device, resolve_precision
from regress_core.model.optim import TrainSettings, check_finite, lr_at, make_ema, make_loss, make_optimizer
from regress_core.model.predict import predict_scaled
from regress_core.model.spec import ModelSpec, build_model


@dataclass(frozen=True)
class EpochRecord:
    """Losses at one validation check, in scaled target units.

    `train_loss` averages the epochs since the previous check; `candidate` names the model
    family being trained when several are compared.
    """

    epoch: int
    train_loss: float
    val_loss: float
    lr: float
    seconds: float
    candidate: str = ""


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
    dtype = resolve_precision(settings.precision, device)
    torch.manual_seed(settings.seed)
    model = build_model(spec, x_train=x_train).to(device)
    generator = torch.Generator().manual_seed(settings.seed)
    xt = torch.tensor(x_train, dtype=torch.float32, device=device)
    yt = torch.tensor(y_train, dtype=torch.float32, device=device)
    xv = torch.tensor(x_val, dtype=torch.float32, device=device)
    n_rows = len(xt)
    batch = min(settings.batch_size, n_rows)
    total_steps = math.ceil(n_rows / batch) * settings.max_epochs
    loss_fn, optimizer = make_loss(settings), make_optimizer(model, settings)
    ema = make_ema(model, settings.ema_decay)
    result = TrainResult(model=model, spec=spec, device=str(device), precision=str(dtype).removeprefix("torch."))
    best_state, best_loss, waited, step, total, started = None, math.inf, 0, 0, 0.0, time.perf_counter()
    bar = tqdm(range(1, settings.max_epochs + 1), desc="train", unit="epoch", disable=not progress, leave=False)
    for epoch in bar:
        model.train()
        order = torch.randperm(n_rows, generator=generator).to(device)
        for start in range(0, n_rows, batch):
            index = order[start : start + batch]
            for group in optimizer.param_groups:
                group["lr"] = lr_at(settings, step, total_steps)
            with torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
                prediction = model(xt[index]).float()
            loss = loss_fn(prediction, yt[index].unsqueeze(1).expand_as(prediction))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if ema is not None:
                ema.update_parameters(model)
            total += loss.item() * len(index)
            step += 1
        check_finite(total, epoch, settings)
        if epoch % settings.eval_every and epoch != settings.max_epochs:
            continue
        scored = ema.module if ema is not None else model
        val_loss = float(np.mean((predict_scaled(scored, xv, device=device) - y_val) ** 2))
        check_finite(val_loss, epoch, settings)
        epochs_since = epoch - (result.history[-1].epoch if result.history else 0)
        record = EpochRecord(
            epoch,
            total / (n_rows * epochs_since),
            val_loss,
            lr_at(settings, step, total_steps),
            time.perf_counter() - started,
            candidate,
        )
        total, started = 0.0, time.perf_counter()
        result.history.append(record)
        bar.set_postfix(train=f"{record.train_loss:.4f}", val=f"{val_loss:.4f}")
        if on_epoch is not None:
            on_epoch(record)
        failpoint("train:epoch")
        if val_loss < best_loss - 1e-7:
            best_loss, waited, result.best_epoch = val_loss, 0, epoch
            best_state = copy.deepcopy(scored.state_dict())
        else:
            waited += 1
            if settings.patience and waited >= settings.patience_checks:
                result.stopped_early = True
                break
    bar.close()
    final = build_model(spec).to(device) if ema is not None else model
    if best_state is None:  # no check ran to completion; max_epochs >= 1 makes this unreachable
        raise TrainingError("training ran no epoch")
    final.load_state_dict(best_state)
    result.model, result.best_val_loss = final.cpu().eval(), best_loss
    return result


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
    bypass the embeddings) lives in `regress_core.model.selection`.

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


def network_spec(
    kind: str, budget: Budget, *, model: ModelConfig, embedded: list[int], n_folds: int = 1, view: str = "configured"
) -> ModelSpec:
    """The spec of a network of `kind` with a budget's sizes and a resolved config's activation and dropout."""
    if kind == "linear":
        return ModelSpec(kind="linear", n_features=budget.inputs, n_folds=n_folds, view=view)
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
        view=view,
    )
