"""How much network and how much training a table gets, from its rows and its inputs.

The configuration leaves some fields empty ("size it to the table"); `plan_budget` turns
them into concrete values with closed-form rules of the rows a network trains on and of
its inputs, so a run is reproducible and its choices can be printed. An explicit value in
the configuration always wins over a rule. From 10,000 training rows on, the rules give the
settings the embedding ensemble was tuned with on California Housing (100 epochs, 96 bins 32
wide, 256-256, 8 members), with a patience of 10 checks (10 epochs there), in batches of 128
rows (it was tuned with 256; 128 scored better on validation rows since).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

from regress_core.config import ModelConfig, ModelKind, TrainConfig

BASE_EPOCHS = 100
CHECKS = 100  # validation checks per run at most, when the epochs are sized to the table
# Patience, in validation checks: a tenth of them, at least 10 (10 of 100). Replayed on the
# validation losses of every public table, split seeds 0 and 1, trained without early stopping
# (benchmarks/patience_check.py): against 20 checks, 10 kept the same best validation loss on 34
# of 38 runs (at worst 0.0036 of RMSE in target standard deviations) and cut training by a fifth.
PATIENCE_SHARE = 0.1
MIN_PATIENCE = 10
MIN_BATCH, MAX_BATCH = 32, 256
# From this many training rows, batches of LARGE_TABLE_BATCH rows: twice the steps per epoch,
# in about as many seconds (training stops sooner). On validation rows (never test rows) they
# scored better than 256-row batches on the three public tables whose suite runs train on more
# than 10,000 rows (benchmarks/budget_check.py, which trains on fewer, about 9,400 and 17,000:
# R2 +0.0012 on happiness-16283, +0.0014 on census2000-29501; California Housing's validation
# RMSE 0.4668 against 0.4717, mean of three seeds), and no better on the two that train on 6,000
# to 7,000 rows there, at a third more time.
LARGE_TABLE_ROWS = 10_000
LARGE_TABLE_BATCH = 128
MIN_BINS, MAX_BINS = 8, 96
ROWS_PER_BIN = 20  # no bin edge fitted on fewer rows
MAX_EMBEDDED_WIDTH = 1024  # embedded inputs x embedding width, at most
MIN_EMBEDDING_DIM = 4
FULL_SIZE_ROWS = 4000  # from this many training rows: 32-wide embeddings and 256-wide layers
ENSEMBLE_SIZE = 8
# Members of each fold model under cross-validation: the fold models are averaged, so the
# prediction still averages n_folds x 4 networks, at half the cost of 8 members each.
FOLD_ENSEMBLE_SIZE = 4

# A network's training seconds on one core of the slower supported CPU (AMD EPYC, AVX512-BF16):
# each optimizer step costs STEP_SECONDS (dispatch, optimizer, weight averaging) plus its
# forward pass's multiply-adds at MACS_PER_SECOND (a rate that includes the backward pass).
# Fitted on the default budgets from 100 to 4,000 rows and 2 to 50 inputs (within 10 % of each
# timing but the smallest, 28 %) with torch's dropout and AveragedModel, which cost more per step
# than layers.Dropout and optim.WeightAverage: the estimate errs long. Two idle cores and Intel's
# AMX run faster.
STEP_SECONDS = 0.0025
MACS_PER_SECOND = 1.16e10
# Tables of fewer train + validation rows than CAPPED_BELOW_ROWS have each network's sized budget
# cut towards an estimated FIT_SECONDS: fewer members first (down to MIN_CAPPED_MEMBERS), then,
# on tables of more than WIDE_INPUTS embedded inputs, narrower embeddings (down to
# MIN_CAPPED_EMBEDDING_DIM). Epochs are never cut. On validation rows of the public tables
# (benchmarks/budget_check.py) 2 members instead of 4 or 8 lost 0.002 R2 on average, 50 epochs
# instead of 100 up to 0.05 (airfare-4596), and 8-wide embeddings 0.015 on a 12-input table.
# Explicit settings are never cut.
CAPPED_BELOW_ROWS = 5000
FIT_SECONDS = 6.0
MIN_CAPPED_MEMBERS = 2
MIN_CAPPED_EMBEDDING_DIM = 8
WIDE_INPUTS = 24


@dataclass(frozen=True, kw_only=True)
class Budget:
    """Concrete sizes and schedule of one network candidate.

    Attributes:
        batch_size: Rows per optimizer step (never more than the training rows).
        max_epochs: Most epochs.
        eval_every: Epochs between validation checks.
        patience: Epochs without a better validation check before stopping; 0 never stops.
        n_bins: Piecewise-linear bins per embedded input.
        embedding_dim: Width of each embedded input.
        hidden_sizes: Widths of the hidden layers.
        ensemble_size: Members of the batched ensemble.
        inputs: Model inputs.
        embedded_inputs: Inputs with piecewise-linear embeddings (0 unless embedding_mlp).
    """

    batch_size: int
    max_epochs: int
    eval_every: int
    patience: int
    n_bins: int
    embedding_dim: int
    hidden_sizes: tuple[int, ...]
    ensemble_size: int
    inputs: int
    embedded_inputs: int

    def __post_init__(self) -> None:
        positive = ("batch_size", "max_epochs", "eval_every", "n_bins", "embedding_dim", "ensemble_size", "inputs")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.patience < 0 or self.embedded_inputs < 0 or any(size < 1 for size in self.hidden_sizes):
            raise ValueError(f"invalid budget: {self}")

    @property
    def macs_per_row(self) -> int:
        """Multiply-adds of one member's forward pass on one row: embeddings, then the layers."""
        plain = self.inputs - self.embedded_inputs
        widths = [plain + self.embedded_inputs * self.embedding_dim, *self.hidden_sizes, 1]
        layers = sum(a * b for a, b in itertools.pairwise(widths))
        return self.embedded_inputs * self.n_bins * self.embedding_dim + layers

    def estimated_seconds(self, n_train: int, n_models: int = 1) -> float:
        """Training seconds on one core of the slower supported CPU, every epoch run (see STEP_SECONDS)."""
        steps = self.max_epochs * math.ceil(n_train / self.batch_size)
        work = self.batch_size * n_models * self.ensemble_size * self.macs_per_row
        return steps * (STEP_SECONDS + work / MACS_PER_SECOND)

    @property
    def patience_checks(self) -> int:
        """Validation checks without improvement before stopping (0: never stop early)."""
        return math.ceil(self.patience / self.eval_every)

    def to_dict(self) -> dict[str, Any]:
        """JSON data, as recorded in the training summary."""
        data = asdict(self)
        data["hidden_sizes"] = list(self.hidden_sizes)
        return data


def batch_size_for(n_train: int) -> int:
    """A power of two near an eighth of the rows, in [32, 256] (at least ~8 steps an epoch); 128 on large tables."""
    if n_train >= LARGE_TABLE_ROWS:
        return LARGE_TABLE_BATCH
    target = max(1, n_train // 8)
    return int(min(MAX_BATCH, max(MIN_BATCH, 2 ** math.floor(math.log2(target)))))


def epochs_for(n_train: int, batch_size: int, *, min_steps: int) -> int:
    """At least 100 epochs and at least `min_steps` optimizer steps."""
    steps_per_epoch = math.ceil(n_train / min(batch_size, n_train))
    return max(BASE_EPOCHS, math.ceil(min_steps / steps_per_epoch))


def bins_for(n_train: int) -> int:
    """One bin per 20 training rows, clipped to [8, 96]."""
    return int(min(MAX_BINS, max(MIN_BINS, n_train // ROWS_PER_BIN)))


def embedding_dim_for(n_train: int, n_embedded: int) -> int:
    """32 wide on large tables, 16 on small ones, narrower when many inputs are embedded."""
    dim = 32 if n_train >= FULL_SIZE_ROWS else 16
    if n_embedded:
        dim = min(dim, max(MIN_EMBEDDING_DIM, MAX_EMBEDDED_WIDTH // n_embedded))
    return dim


def hidden_sizes_for(n_train: int) -> tuple[int, ...]:
    """Two hidden layers, 256 wide from 4,000 training rows, 128 below (compute, not quality)."""
    width = 256 if n_train >= FULL_SIZE_ROWS else 128
    return (width, width)


def plan_budget(
    *,
    kind: ModelKind,
    n_train: int,
    n_inputs: int,
    n_embedded: int,
    model: ModelConfig,
    train: TrainConfig,
    n_folds: int = 1,
    n_pool: int | None = None,
) -> Budget:
    """The concrete budget of one network, explicit configuration values first.

    On a table of fewer than CAPPED_BELOW_ROWS rows (`n_pool`), the sized values are cut to
    an estimated FIT_SECONDS of training (`cap_budget`).

    Args:
        kind: The model family ("linear" trains one member and has no hidden layer).
        n_train: Rows the network trains on (one fold's training part under cross-validation).
        n_inputs: Model inputs.
        n_embedded: Inputs that get piecewise-linear embeddings (embedding_mlp only).
        model: Architecture settings; a field left None is sized here.
        train: Optimisation settings; a field left None is sized here.
        n_folds: Fold models trained and averaged (1: a single model on a validation split).
        n_pool: Training and validation rows of the table (None: not capped).
    """
    if n_train < 1 or n_inputs < 1:
        raise ValueError(f"need training rows and inputs, got {n_train=} {n_inputs=}")
    batch, epochs, eval_every, patience = _schedule(n_train, train)
    embedded = n_embedded if kind == "embedding_mlp" else 0
    if kind == "linear":
        hidden: tuple[int, ...] = ()
    elif model.hidden_sizes is not None:
        hidden = tuple(model.hidden_sizes)
    else:
        hidden = hidden_sizes_for(n_train)
    if model.ensemble_size is not None:
        members = model.ensemble_size
    else:
        members = (FOLD_ENSEMBLE_SIZE if n_folds > 1 else ENSEMBLE_SIZE) if kind == "embedding_mlp" else 1
    sized = Budget(
        batch_size=batch,
        max_epochs=epochs,
        eval_every=eval_every,
        patience=patience,
        n_bins=model.n_bins if model.n_bins is not None else bins_for(n_train),
        embedding_dim=model.embedding_dim if model.embedding_dim is not None else embedding_dim_for(n_train, embedded),
        hidden_sizes=hidden,
        ensemble_size=1 if kind == "linear" else members,
        inputs=n_inputs,
        embedded_inputs=embedded,
    )
    if kind == "linear" or n_pool is None or n_pool >= CAPPED_BELOW_ROWS:
        return sized
    return cap_budget(sized, n_train=n_train, n_models=n_folds, model=model)


def _schedule(n_train: int, train: TrainConfig) -> tuple[int, int, int, int]:
    """Batch size, epochs, epochs between validation checks and patience, explicit values first."""
    if train.batch_size is not None:
        batch = n_train if train.batch_size == 0 else min(train.batch_size, n_train)
    else:
        batch = min(batch_size_for(n_train), n_train)
    if train.max_epochs is None:
        epochs = epochs_for(n_train, batch, min_steps=train.min_steps or 0)
        eval_every = max(1, epochs // CHECKS)  # sized runs check CHECKS to 2 x CHECKS - 1 times
    else:
        epochs, eval_every = train.max_epochs, 1  # an explicit epoch count is checked every epoch, as always
    if train.patience is not None:
        return batch, epochs, eval_every, train.patience
    return batch, epochs, eval_every, patience_checks_for(epochs / eval_every) * eval_every


def patience_checks_for(n_checks: float, *, share: float = PATIENCE_SHARE, floor: int = MIN_PATIENCE) -> int:
    """Validation checks without improvement before a sized run stops: `share` of its checks, at least `floor`."""
    return max(floor, math.ceil(share * n_checks))


def cap_budget(budget: Budget, *, n_train: int, n_models: int, model: ModelConfig) -> Budget:
    """Cut a sized budget towards an estimated FIT_SECONDS: members, then a wide table's embedding width.

    Only fields the configuration left open are cut, and never below their floors, so a
    budget may stay above FIT_SECONDS.
    """
    cuts: list[Callable[[Budget], Budget]] = []
    if model.ensemble_size is None:
        cuts.append(lambda b: replace(b, ensemble_size=_halved(b.ensemble_size, MIN_CAPPED_MEMBERS)))
    if model.embedding_dim is None and budget.embedded_inputs > WIDE_INPUTS:
        cuts.append(lambda b: replace(b, embedding_dim=_halved(b.embedding_dim, MIN_CAPPED_EMBEDDING_DIM)))
    for cut in cuts:
        while budget.estimated_seconds(n_train, n_models) > FIT_SECONDS and cut(budget) != budget:
            budget = cut(budget)
    return budget


def _halved(value: int, floor: int) -> int:
    """Half of `value`, not below `floor`; a value already at or below it stays."""
    return value if value <= floor else max(floor, value // 2)
