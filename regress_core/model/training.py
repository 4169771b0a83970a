"""Training a PyTorch regression model: seeded, mini-batched, early-stopped on validation."""

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

from regress_core.config import ModelConfig, TrainConfig
from regress_core.errors import TrainingError
from regress_core.failpoints import failpoint
from regress_core.model.device import resolve_device, resolve_precision
from regress_core.model.predict import predict_scaled
from regress_core.model.spec import ModelSpec, build_model, model_spec


@dataclass(frozen=True)
class EpochRecord:
    """Losses of one epoch, in scaled target units."""

    epoch: int
    train_loss: float
    val_loss: float
    lr: float
    seconds: float


@dataclass
class TrainResult:
    """A trained model (on CPU, best validation weights) and how it got there."""

    model: nn.Module
    spec: ModelSpec
    history: list[EpochRecord] = field(default_factory=list)
    best_epoch: int = 0
    stopped_early: bool = False
    device: str = "cpu"
    precision: str = "float32"

    @property
    def best_val_loss(self) -> float:
        return self.history[self.best_epoch - 1].val_loss if self.history else math.nan


def make_loss(config: TrainConfig) -> nn.Module:
    if config.loss == "mae":
        return nn.L1Loss()
    if config.loss == "huber":
        return nn.HuberLoss(delta=config.huber_delta)
    return nn.MSELoss()


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    params = model.parameters()
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)


def _lr_at(config: TrainConfig, step: int, total_steps: int) -> float:
    if config.lr_schedule == "cosine":
        return config.lr * 0.5 * (1 + math.cos(math.pi * min(step, total_steps) / total_steps))
    return config.lr


def _check_finite(loss: float, epoch: int, config: TrainConfig) -> None:
    if not math.isfinite(loss):
        raise TrainingError(
            f"training diverged at epoch {epoch}: loss is {loss}; "
            f"lower train.lr (now {config.lr:g}) or scale the target"
        )


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
    """Train a model from scratch and keep the weights of its best validation epoch.

    Args:
        x_train: Scaled inputs, shape (n_train, n_features), float32.
        y_train: Scaled targets, shape (n_train,).
        x_val: Scaled validation inputs, shape (n_val, n_features).
        y_val: Scaled validation targets, shape (n_val,).
        model_config: Architecture.
        train_config: Optimisation settings; `seed` makes the run reproducible.
        on_epoch: Called after every epoch (for logs).
        progress: Show a progress bar on the terminal.

    Raises:
        TrainingError: if the loss becomes NaN or infinite.
    """
    device = resolve_device(train_config.device)
    dtype = resolve_precision(train_config.precision, device)
    torch.manual_seed(train_config.seed)
    spec = model_spec(model_config, n_features=x_train.shape[1])
    model = build_model(spec, x_train=x_train).to(device)
    generator = torch.Generator().manual_seed(train_config.seed)
    xt = torch.tensor(x_train, dtype=torch.float32, device=device)
    yt = torch.tensor(y_train, dtype=torch.float32, device=device)
    xv = torch.tensor(x_val, dtype=torch.float32, device=device)
    n_rows = len(xt)
    batch = n_rows if train_config.batch_size in (0, None) else min(train_config.batch_size, n_rows)
    steps_per_epoch = math.ceil(n_rows / batch)
    total_steps = steps_per_epoch * train_config.max_epochs
    loss_fn, optimizer = make_loss(train_config), make_optimizer(model, train_config)
    ema = _make_ema(model, train_config.ema_decay)
    result = TrainResult(model=model, spec=spec, device=str(device), precision=str(dtype).removeprefix("torch."))
    best_state, best_loss, waited, step = None, math.inf, 0, 0
    bar = tqdm(range(1, train_config.max_epochs + 1), desc="train", unit="epoch", disable=not progress, leave=False)
    for epoch in bar:
        started = time.perf_counter()
        model.train()
        order = torch.randperm(n_rows, generator=generator).to(device)
        total = 0.0
        for start in range(0, n_rows, batch):
            index = order[start : start + batch]
            for group in optimizer.param_groups:
                group["lr"] = _lr_at(train_config, step, total_steps)
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
        train_loss = total / n_rows
        _check_finite(train_loss, epoch, train_config)
        scored = ema.module if ema is not None else model
        val_loss = float(np.mean((predict_scaled(scored, xv, device=device) - y_val) ** 2))
        _check_finite(val_loss, epoch, train_config)
        record = EpochRecord(
            epoch, train_loss, val_loss, _lr_at(train_config, step, total_steps), time.perf_counter() - started
        )
        result.history.append(record)
        bar.set_postfix(train=f"{train_loss:.4f}", val=f"{val_loss:.4f}")
        if on_epoch is not None:
            on_epoch(record)
        failpoint("train:epoch")
        if val_loss < best_loss - 1e-7:
            best_loss, waited, result.best_epoch = val_loss, 0, epoch
            best_state = copy.deepcopy(scored.state_dict())
        else:
            waited += 1
            if train_config.patience and waited >= train_config.patience:
                result.stopped_early = True
                break
    bar.close()
    final = build_model(spec).to(device) if ema is not None else model
    if best_state is None:  # no epoch ran to completion; max_epochs >= 1 makes this unreachable
        raise TrainingError("training ran no epoch")
    final.load_state_dict(best_state)
    result.model = final.cpu().eval()
    return result


def _make_ema(model: nn.Module, decay: float) -> torch.optim.swa_utils.AveragedModel | None:
    if decay <= 0:
        return None
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)
