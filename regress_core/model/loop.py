"""The training loop of every network: seeded mini-batches, a schedule, weight averaging, early stopping.

`train_loop` trains a network on the batches it is given and keeps, for each model the
network holds, the weights of that model's best validation check. A single network holds
one model; a fold-stacked network one per cross-validation fold, on a leading axis of its
inputs, outputs and weights. How the rows are drawn into batches (`Batches`) and how the
held-out rows are scored (`Validation`) come from the caller.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
from torch import nn
from tqdm.auto import tqdm

from regress_core.errors import TrainingError
from regress_core.failpoints import failpoint
from regress_core.model.optim import TrainSettings, check_finite, elementwise_loss, lr_at, make_ema, make_optimizer

# A check improves on the best one by more than this, or it does not count.
MIN_IMPROVEMENT = 1e-7


@dataclass(frozen=True)
class EpochRecord:
    """Losses at one validation check, in scaled target units.

    `train_loss` averages the epochs since the previous check; `candidate` names the model
    family being trained when several are compared. `val_loss` pools every model's held-out
    rows; `model_losses` holds each model's own (one per fold model under cross-validation),
    the losses early stopping reads.
    """

    epoch: int
    train_loss: float
    val_loss: float
    lr: float
    seconds: float
    candidate: str = ""
    model_losses: tuple[float, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON data, as recorded in the training summary."""
        return {**vars(self), "model_losses": list(self.model_losses)}


# A network's inputs: one tensor, or a tuple of its positional arguments.
Inputs = torch.Tensor | tuple[torch.Tensor, ...]
# Bin encodings of the training rows computed once, before the first step, take at most this
# much memory (computing them takes about four times as much for a moment); beyond it (a million
# rows of 20 inputs in 96 bins take 7.7 GB) each step encodes its own rows. Both give the same
# numbers. California Housing's training rows take 46 MB.
ENCODED_MAX_BYTES = 64 * 2**20


def encode_once(model: nn.Module, *rows: torch.Tensor) -> tuple[torch.Tensor, ...] | None:
    """The network's bin encodings of each tensor of `rows`, computed once for the whole training.

    The piecewise-linear encoding depends on the rows and the fitted bins alone, and on small
    tables it cost a third of each step's time (a 1,989-row table of 27 embedded inputs: 4.9 s
    of 12.7 s); the steps then gather their rows' encodings, the same numbers. The network
    says what one row's encoding holds (`encoded_per_row`) and encodes (`encode_inputs`). None
    without embedded inputs, or beyond ENCODED_MAX_BYTES: each step encodes its own rows.
    """
    per_row = getattr(model, "encoded_per_row", 0)
    if not per_row or not rows:
        return None
    n_rows = sum(math.prod(x.shape[:-1]) for x in rows)
    if n_rows * per_row * rows[0].element_size() > ENCODED_MAX_BYTES:
        return None
    encode: Callable[[torch.Tensor], torch.Tensor] = getattr(model, "encode_inputs")  # noqa: B009
    with torch.no_grad():
        return tuple(encode(x) for x in rows)


def call_network(model: nn.Module, inputs: Inputs) -> torch.Tensor:
    """`model` on one batch's inputs (a tensor, or a tuple of positional arguments)."""
    return model(*inputs) if isinstance(inputs, tuple) else model(inputs)


class Batches(Protocol):
    """The training rows of one network, drawn into mini-batches anew every epoch.

    A batch is (inputs, targets): inputs (*M, batch, n_features) and targets (*M, batch),
    where the optional leading axis M holds separate models (the folds of a fold-stacked
    network); the network maps the inputs to predictions (*M, batch, k). Inputs may also be a
    tuple of tensors, the network's positional arguments (rows and their encodings computed
    beforehand).
    """

    @property
    def steps_per_epoch(self) -> int:
        """Optimizer steps in one epoch."""
        ...

    def epoch(self, generator: torch.Generator) -> Iterator[tuple[Inputs, torch.Tensor]]:
        """One epoch's batches, in an order drawn from `generator`."""
        ...


# Scores a network on held-out rows: each model's MSE, shape (n_models,), and the MSE pooled
# over every held-out row. It leaves the network in training mode.
Validation = Callable[[nn.Module], tuple[torch.Tensor, float]]


@dataclass
class LoopResult:
    """What training left: each model's best weights and when they were reached.

    Attributes:
        best_state: The network's state_dict with each model at its best check.
        best_losses: Each model's best validation MSE, shape (n_models,).
        best_epochs: Each model's best epoch.
        history: One record per validation check.
        stopped_early: Whether training stopped because every model ran out of patience.
    """

    best_state: dict[str, torch.Tensor]
    best_losses: torch.Tensor
    best_epochs: list[int]
    history: list[EpochRecord] = field(default_factory=list)
    stopped_early: bool = False


def train_loop(
    model: nn.Module,
    batches: Batches,
    validate: Validation,
    settings: TrainSettings,
    *,
    precision: torch.dtype = torch.float32,
    on_epoch: Callable[[EpochRecord], None] | None = None,
    progress: bool = False,
    candidate: str = "",
) -> LoopResult:
    """Train `model` for up to `settings.max_epochs` epochs, until every model it holds runs out of patience.

    Each step minimises the sum over models of each model's mean loss over rows and members.
    With weight averaging (EMA) the averaged weights are the ones validated and kept.

    Args:
        model: The network, on its device; it is trained in place.
        batches: The training rows; `settings.seed` orders them.
        validate: Scores the network on held-out rows after every `eval_every` epochs and the last.
        settings: Optimisation settings.
        precision: Autocast dtype of the forward pass; float32 runs without autocast.
        on_epoch: Called after every validation check.
        progress: Show a progress bar of the optimizer steps (it moves within a long epoch), the
            epoch and the last check's losses.
        candidate: Name put in the epoch records.

    Raises:
        TrainingError: if the loss becomes NaN or infinite.
    """
    generator = torch.Generator().manual_seed(settings.seed)
    steps = _Steps(model, settings, precision, total=batches.steps_per_epoch * settings.max_epochs)
    best, stopped_early = BestChecks(), False
    history: list[EpochRecord] = []
    started = time.perf_counter()
    bar = tqdm(total=steps.total, desc="train", unit="step", disable=not progress, leave=False)
    for epoch in range(1, settings.max_epochs + 1):
        steps.run_epoch(batches.epoch(generator), on_step=bar.update if progress else None)
        check_finite(steps.loss_total(), epoch, settings)
        if epoch % settings.eval_every and epoch != settings.max_epochs:
            continue
        losses, pooled = validate(steps.scored)
        check_finite(pooled, epoch, settings)
        lr = lr_at(settings, steps.step, steps.total)
        seconds, each = time.perf_counter() - started, tuple(losses.tolist())
        record = EpochRecord(epoch, steps.take_train_loss(), pooled, lr, seconds, candidate, each)
        history.append(record)
        started = time.perf_counter()
        bar.set_postfix(epoch=epoch, train=f"{record.train_loss:.4f}", val=f"{pooled:.4f}")
        if on_epoch is not None:
            on_epoch(record)
        failpoint("train:epoch")
        best.update(losses, steps.scored.state_dict(), epoch)
        if settings.patience and best.patience_ran_out(settings.patience_checks):
            stopped_early = True
            break
    bar.close()
    if best.state is None:  # no check ran to completion; max_epochs >= 1 makes this unreachable
        raise TrainingError("training ran no epoch")
    return LoopResult(best.state, best.losses, best.epochs, history, stopped_early)


class _Steps:
    """Optimizer steps on one network: learning-rate schedule, autocast, weight averaging, loss totals."""

    def __init__(self, model: nn.Module, settings: TrainSettings, precision: torch.dtype, *, total: int) -> None:
        self.model, self.settings, self.precision, self.total = model, settings, precision, total
        device = next(model.parameters()).device
        self.device_type = device.type
        self.optimizer = make_optimizer(model, settings)
        self.ema = make_ema(model, settings.ema_decay)
        self.scored: nn.Module = self.ema.module if self.ema is not None else model
        self.step = 0
        # Row-weighted sum of the models' losses since the last check: kept on the device so
        # that no step waits for it, in float64 so that it sums as precisely as a Python float.
        self.loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        self.rows = 0

    def run_epoch(
        self, epoch_batches: Iterator[tuple[Inputs, torch.Tensor]], on_step: Callable[[], object] | None = None
    ) -> None:
        """Take one optimizer step per batch; call `on_step` after each."""
        self.model.train()
        for inputs, targets in epoch_batches:
            for group in self.optimizer.param_groups:
                group["lr"] = lr_at(self.settings, self.step, self.total)
            reduced = self.precision != torch.float32
            with torch.autocast(self.device_type, dtype=self.precision, enabled=reduced):
                prediction = call_network(self.model, inputs).float()  # (*M, batch, k)
            elementwise = elementwise_loss(self.settings, prediction, targets.unsqueeze(-1).expand_as(prediction))
            loss = elementwise.mean(dim=(-2, -1)).sum()
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            if self.ema is not None:
                self.ema.update()
            self.loss_sum.add_(loss.detach(), alpha=targets.shape[-1])
            self.rows += targets.numel()
            self.step += 1
            if on_step is not None:
                on_step()

    def loss_total(self) -> float:
        """The row-weighted loss sum since the last check (finite while training is)."""
        return float(self.loss_sum)

    def take_train_loss(self) -> float:
        """Mean training loss per row and model since the last check; starts the next total."""
        mean = float(self.loss_sum) / self.rows
        self.loss_sum.zero_()
        self.rows = 0
        return mean


class BestChecks:
    """Each model's best validation check so far, and the checks it has waited since."""

    def __init__(self) -> None:
        self.state: dict[str, torch.Tensor] | None = None
        self.losses = torch.empty(0)
        self.epochs: list[int] = []
        self.waited = torch.empty(0, dtype=torch.long)

    def update(self, losses: torch.Tensor, state: dict[str, torch.Tensor], epoch: int) -> None:
        """Keep the weights of every model whose loss improved; count a wait for the others.

        Losses are compared in float64, whatever precision they were computed in, so the same
        losses replayed from the epoch records give the same checks.
        """
        losses = losses.to(torch.float64)
        if self.state is None:
            self.losses = torch.full_like(losses, math.inf)
            self.waited = torch.zeros_like(losses, dtype=torch.long)
            self.epochs = [0] * len(losses)
        improved = losses < self.losses - MIN_IMPROVEMENT
        self.waited = torch.where(improved, 0, self.waited + 1)
        self.losses = torch.where(improved, losses, self.losses)
        if self.state is None or bool(improved.all()):
            self.state = copy.deepcopy(state)
        elif bool(improved.any()):
            _copy_models(self.state, state, improved)
        for model in torch.nonzero(improved).flatten().tolist():
            self.epochs[model] = epoch

    def patience_ran_out(self, patience_checks: int) -> bool:
        """Whether every model has waited `patience_checks` checks without improving."""
        return bool((self.waited >= patience_checks).all())


def _copy_models(best: dict[str, torch.Tensor], current: dict[str, torch.Tensor], improved: torch.Tensor) -> None:
    """Copy the improved models' slices of every tensor with a leading model axis into `best`."""
    for name, tensor in current.items():
        if tensor.dim() and tensor.shape[0] == len(improved) and name in best:
            best[name][improved] = tensor[improved].detach().clone()
