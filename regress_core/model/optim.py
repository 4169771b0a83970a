"""Optimisation settings and the pieces of the training loop: loss, optimizer, schedule, EMA."""

from __future__ import annotations

import copy
import itertools
import math
from dataclasses import dataclass

import torch
from torch import nn

from regress_core.config import TrainConfig
from regress_core.errors import TrainingError
from regress_core.model.budget import Budget
from regress_core.model.optimizers import Optimizer


@dataclass(frozen=True, kw_only=True)
class TrainSettings:
    """Concrete optimisation settings of one run.

    Attributes:
        batch_size: Rows per step, at least 1 (full batch: the number of training rows).
        max_epochs: Most epochs.
        eval_every: Epochs between validation checks (the last epoch is always checked).
        patience: Epochs without a better check before stopping; 0 never stops early.
    """

    loss: str = "mse"
    huber_delta: float = 1.0
    optimizer: str = "adamw"
    lr: float = 2e-3
    weight_decay: float = 3e-3
    momentum: float = 0.0
    lr_schedule: str = "cosine"
    batch_size: int = 256
    max_epochs: int = 100
    eval_every: int = 1
    patience: int = 10
    ema_decay: float = 0.99
    seed: int = 0
    device: str = "auto"
    precision: str = "auto"

    def __post_init__(self) -> None:
        if min(self.batch_size, self.max_epochs, self.eval_every) < 1 or self.patience < 0:
            raise ValueError(f"invalid training settings: {self}")

    @property
    def patience_checks(self) -> int:
        return math.ceil(self.patience / self.eval_every)

    @classmethod
    def from_config(cls, train: TrainConfig, budget: Budget) -> TrainSettings:
        """Settings from a resolved TrainConfig (preset fields filled) and a network's budget."""
        values = {name: getattr(train, name) for name in ("loss", "optimizer", "lr", "weight_decay", "momentum")}
        values |= {"lr_schedule": train.lr_schedule, "ema_decay": train.ema_decay, "precision": train.precision}
        missing = [name for name, value in values.items() if value is None]
        if missing:
            raise ValueError(f"train settings {', '.join(missing)} are unset; resolve the configuration first")
        return cls(
            **values,
            huber_delta=train.huber_delta,
            batch_size=budget.batch_size,
            max_epochs=budget.max_epochs,
            eval_every=budget.eval_every,
            patience=budget.patience,
            seed=train.seed,
            device=train.device,
        )


def elementwise_loss(settings: TrainSettings, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The configured loss of every prediction, unreduced; `target` has the shape of `prediction`."""
    if settings.loss == "mae":
        return (prediction - target).abs()
    if settings.loss == "huber":
        return nn.functional.huber_loss(prediction, target, reduction="none", delta=settings.huber_delta)
    return (prediction - target) ** 2


def make_optimizer(model: nn.Module, settings: TrainSettings) -> Optimizer:
    """The configured optimizer over the model's parameters (regress_core.model.optimizers, not torch.optim)."""
    return Optimizer(
        model.parameters(),
        kind=settings.optimizer,
        lr=settings.lr,
        weight_decay=settings.weight_decay,
        momentum=settings.momentum,
    )


def lr_at(settings: TrainSettings, step: int, total_steps: int) -> float:
    if settings.lr_schedule == "cosine":
        return settings.lr * 0.5 * (1 + math.cos(math.pi * min(step, total_steps) / total_steps))
    return settings.lr


def check_finite(loss: float, epoch: int, settings: TrainSettings) -> None:
    if not math.isfinite(loss):
        raise TrainingError(
            f"training diverged at epoch {epoch}: loss is {loss}; "
            f"lower train.lr (now {settings.lr:g}) or scale the target"
        )


def make_ema(model: nn.Module, decay: float) -> WeightAverage | None:
    """The network's weight average with `decay`, or None when `decay` is 0 (no averaging)."""
    return WeightAverage(model, decay) if decay > 0 else None


class WeightAverage:
    """An exponential moving average of a network's weights, kept in a copy of it (`module`).

    The first `update` copies the network's floating-point parameters and buffers; each
    later one moves every average towards the network's value by 1 - decay, in one
    `torch._foreach_lerp_` over all of them. For floating-point tensors that is what
    torch.optim.swa_utils's `AveragedModel` with `get_ema_multi_avg_fn` and
    `use_buffers=True` computes, bit for bit (tests/unit/test_optimizers.py), without
    regrouping the tensors by device and dtype at every step: its Python took 0.3 ms a step,
    a tenth of a small network's step. Integer buffers (which inputs are embedded) are
    constants and stay as copied (`AveragedModel` averages them in floating point and
    truncates, which can turn an index 3 into 2).

    Args:
        model: The network being trained; its tensors are read afresh at every update, so
            the average follows the network when it moves to another device.
        decay: Weight of the previous average, in (0, 1).
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        if not 0 < decay < 1:
            raise ValueError(f"decay must be in (0, 1), got {decay}")
        self.module = copy.deepcopy(model)
        self.model = model
        self.decay = decay
        self.updates = 0

    @torch.no_grad()
    def update(self) -> None:
        """Average in the network's current weights."""
        averaged, current = _floating_tensors(self.module), _floating_tensors(self.model)
        if self.updates == 0:
            torch._foreach_copy_(averaged, current)
        else:
            torch._foreach_lerp_(averaged, current, 1 - self.decay)
        self.updates += 1


def _floating_tensors(module: nn.Module) -> list[torch.Tensor]:
    """The module's floating-point parameters, then its floating-point buffers."""
    tensors = itertools.chain(module.parameters(), module.buffers())
    return [tensor for tensor in tensors if tensor.is_floating_point()]
