"""Model selection on validation rows only, and the chosen model fitted.

Kind auto trains the candidates (linear: closed-form ridge; mlp; embedding_mlp) and keeps
one, judged on validation rows only: below `cv_below_rows` train + validation rows, k-fold
cross-validation over the pooled rows (out-of-fold predictions); above, the project's
validation split. A fixed kind trains that kind alone, the same way: a linear model,
candidate or fixed kind, is always ridge in closed form. Every model reads the feature view
of its kind (`spec.feature_view`: linear models the standardised one, whatever the
configured scaler). Test rows never reach this module.

The chosen model is kept as fitted: ridge refitted on every row it may see; networks
as trained (under cross-validation, the fold models averaged in one module).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.model_selection import KFold
from torch import nn

from regress_core.config import ModelConfig, ModelKind, RegressConfig, TrainConfig
from regress_core.errors import TrainingError
from regress_core.model.budget import Budget, plan_budget
from regress_core.model.candidates import (
    FittedCandidate,
    continuous_columns,
    fit_network_candidate,
    fit_ridge_candidate,
)
from regress_core.model.choice import CandidateScore, choose, fold_scores
from regress_core.model.device import threads_for
from regress_core.model.folds import Folds
from regress_core.model.loop import EpochRecord
from regress_core.model.optim import TrainSettings
from regress_core.model.spec import ModelSpec, feature_view
from regress_core.model.training import network_spec

DEFAULT_CANDIDATES: tuple[ModelKind, ...] = ("linear", "mlp", "embedding_mlp")
NO_MLP_FROM_ROWS = 10_000  # from this many training rows the plain MLP is not tried: it never wins there


@dataclass(frozen=True, kw_only=True)
class TableViews:
    """Scaled model inputs and targets of the training and validation rows, in both feature views.

    Attributes:
        x_train, x_val: The configured view (the networks' inputs).
        x_train_standard, x_val_standard: The standardised view (closed-form ridge's inputs).
        y_train, y_val: Scaled targets.
        indicators: Inputs that are 0/1 by construction (one-hot categories, missing flags).
        target_std: Target units per scaled target unit.
    """

    x_train: np.ndarray
    x_val: np.ndarray
    x_train_standard: np.ndarray
    x_val_standard: np.ndarray
    y_train: np.ndarray
    y_val: np.ndarray
    indicators: tuple[int, ...] = ()
    target_std: float = 1.0


@dataclass
class Selection:
    """The chosen model, how it was chosen, and how its training went."""

    model: nn.Module
    spec: ModelSpec
    chosen: str
    scheme: str
    scores: list[CandidateScore]
    budget: Budget
    history: list[EpochRecord] = field(default_factory=list)
    best_epoch: int = 0
    best_val_loss: float = math.nan
    stopped_early: bool = False
    device: str = "cpu"
    precision: str = "float64"
    threads: int = 1  # CPU threads of the matrix products (intra-op), as `threads_for` chose them
    threads_reason: str = ""
    fold_best_epochs: list[int] | None = None
    target_std: float = 1.0

    def summary(self) -> dict[str, Any]:
        """The selection record of the training summary (JSON data)."""
        return {
            "scheme": self.scheme,
            "chosen": self.chosen,
            "candidates": [
                {
                    "name": score.name,
                    # None (JSON null) for a candidate whose training diverged.
                    "val_rmse": math.sqrt(score.mse) * self.target_std if math.isfinite(score.mse) else None,
                    "seconds": round(score.seconds, 3),
                }
                for score in self.scores
            ],
            "budget": self.budget.to_dict(),
        }


def candidate_names(model: ModelConfig, *, n_fit: int, use_cv: bool) -> list[ModelKind]:
    """The kinds to train: the fixed kind, the configured candidates, or the default set for the table.

    The default set leaves the plain MLP out under cross-validation (on the benchmark
    tables it never had the lowest cross-validated error, and it costs a fifth of the time)
    and from NO_MLP_FROM_ROWS training rows on (dominated there, and slow).
    """
    if model.kind is not None and model.kind != "auto":
        return [model.kind]
    if model.candidates is not None:
        return list(dict.fromkeys(model.candidates))
    with_mlp = not use_cv and n_fit < NO_MLP_FROM_ROWS
    return [name for name in DEFAULT_CANDIDATES if name != "mlp" or with_mlp]


def select_model(
    data: TableViews,
    model: ModelConfig,
    train: TrainConfig,
    *,
    on_epoch: Callable[[EpochRecord], None] | None = None,
    progress: bool = False,
) -> Selection:
    """Train the candidates, score them on validation rows only, and return the chosen one fitted.

    Training uses the cores that are idle when it starts (`threads_for`); the selection records
    how many threads it used and why.

    Args:
        data: Training and validation rows (never test rows) in both views.
        model: Architecture settings; fields the preset leaves open are sized per candidate.
        train: Optimisation, cross-validation and seed settings.
        on_epoch: Called at every validation check of every network candidate.
        progress: Show a progress bar while a network trains on a validation split.
    """
    resolved = RegressConfig(model=model, train=train).resolved()
    model, train = resolved.model, resolved.train
    pool = _Pool.of(data, train)
    names = candidate_names(model, n_fit=pool.n_fit, use_cv=pool.use_cv)
    with threads_for(networks=any(name != "linear" for name in names)) as threads:
        fitted, scores = _fit_and_score(names, pool, model, train, on_epoch=on_epoch, progress=progress)
    chosen = choose(scores, use_cv=pool.use_cv)
    if chosen not in fitted:
        raise TrainingError(f"every candidate diverged ({', '.join(names)}); lower train.lr or scale the target")
    best = fitted[chosen]
    # The chosen network's budget; for ridge, the embedding ensemble's (trained or not): what a network got.
    ensemble = fitted.get("embedding_mlp")
    recorded = best.budget or (ensemble.budget if ensemble is not None else None)
    return Selection(
        model=best.model,
        spec=best.spec,
        chosen=chosen,
        scheme=f"{len(pool.folds)}-fold cross-validation" if pool.use_cv else "validation split",
        scores=scores,
        budget=recorded or pool.budget("embedding_mlp", model, train),
        history=best.history,
        best_epoch=best.best_epoch,
        best_val_loss=next(score.mse for score in scores if score.name == chosen),
        stopped_early=best.stopped_early,
        device=best.device,
        precision=best.precision,
        fold_best_epochs=best.fold_best_epochs,
        target_std=data.target_std,
        threads=threads.count,
        threads_reason=threads.reason,
    )


@dataclass(frozen=True)
class _Pool:
    """The rows the candidates train and are scored on, and their folds.

    Under cross-validation the folds split every training and validation row; otherwise
    one fold trains on the training rows and holds out the validation rows.

    Attributes:
        x: Configured view of the training then the validation rows, shape (n_pool, n_features).
        x_standard: Standardised view of the same rows.
        y: Their scaled targets, shape (n_pool,).
        folds: (training indices, held-out indices) per fold.
        use_cv: Whether the folds are cross-validation folds.
        continuous: The inputs networks embed (`continuous_columns` of the rows they train on).
    """

    x: np.ndarray
    x_standard: np.ndarray
    y: np.ndarray
    folds: Folds
    use_cv: bool
    continuous: list[int]

    @classmethod
    def of(cls, data: TableViews, train: TrainConfig) -> _Pool:
        """Pool the rows; cross-validate when a resolved `train` asks for it and the table is small enough."""
        n_train, n_pool = len(data.y_train), len(data.y_train) + len(data.y_val)
        x = np.concatenate([data.x_train, data.x_val])
        n_folds = train.cv_folds or 0
        # Every fold holds out at least two rows; a table too small for that keeps its validation split.
        use_cv = n_folds >= 2 and 2 * n_folds <= n_pool < (train.cv_below_rows or 0)
        if use_cv:
            folds: Folds = list(KFold(n_splits=n_folds, shuffle=True, random_state=train.seed).split(x))
        else:
            folds = [(np.arange(n_train), np.arange(n_train, n_pool))]
        return cls(
            x=x,
            x_standard=np.concatenate([data.x_train_standard, data.x_val_standard]),
            y=np.concatenate([data.y_train, data.y_val]),
            folds=folds,
            use_cv=use_cv,
            continuous=continuous_columns(x if use_cv else data.x_train, indicators=data.indicators),
        )

    def inputs(self, view: str) -> np.ndarray:
        """The pooled rows in one feature view ("configured" or "standard")."""
        return self.x_standard if view == "standard" else self.x

    @property
    def n_fit(self) -> int:
        """Rows a network trains on (the smallest fold's training part)."""
        return min(len(train_rows) for train_rows, _ in self.folds)

    @property
    def n_models(self) -> int:
        """Models a network trains side by side: one per cross-validation fold, else one."""
        return len(self.folds) if self.use_cv else 1

    def budget(self, kind: ModelKind, model: ModelConfig, train: TrainConfig) -> Budget:
        """The budget of a network of `kind` trained on these folds (one model per fold under cross-validation)."""
        return plan_budget(
            kind=kind,
            n_train=self.n_fit,
            n_inputs=self.x.shape[1],
            n_embedded=len(self.continuous),
            model=model,
            train=train,
            n_folds=self.n_models,
            n_pool=len(self.y),
        )


def _fit_and_score(
    names: list[ModelKind],
    pool: _Pool,
    model: ModelConfig,
    train: TrainConfig,
    *,
    on_epoch: Callable[[EpochRecord], None] | None,
    progress: bool,
) -> tuple[dict[str, FittedCandidate], list[CandidateScore]]:
    """Fit every candidate and score it on held-out rows; a diverged one scores infinity (unless it is alone).

    Raises:
        TrainingError: the only candidate diverged.
    """
    fitted: dict[str, FittedCandidate] = {}
    scores = []
    for name in names:
        started = time.perf_counter()
        try:
            fitted[name] = _fit_candidate(name, pool, model, train, on_epoch=on_epoch, progress=progress)
        except TrainingError:
            if len(names) == 1:
                raise
            # A diverged candidate scores infinity and is never chosen; the others still compete.
            seconds = time.perf_counter() - started
            scores.append(CandidateScore(name, math.inf, (math.inf,) * len(pool.folds), seconds))
            continue
        seconds = time.perf_counter() - started
        scores.append(fold_scores(name, fitted[name].predictions, pool.y, pool.folds, seconds=seconds))
    return fitted, scores


def _fit_candidate(
    name: ModelKind,
    pool: _Pool,
    model: ModelConfig,
    train: TrainConfig,
    *,
    on_epoch: Callable[[EpochRecord], None] | None,
    progress: bool,
) -> FittedCandidate:
    """Closed-form ridge for a linear model (candidate or fixed kind); otherwise the network `name`, sized to the pool.

    Either reads the pooled rows in its kind's feature view (`spec.view`).
    """
    if name == "linear":
        return fit_ridge_candidate(pool.inputs(feature_view(name)), pool.y, pool.folds)
    budget = pool.budget(name, model, train)
    spec = network_spec(name, budget, model=model, embedded=pool.continuous, n_folds=pool.n_models)
    settings = TrainSettings.from_config(train, budget)
    return fit_network_candidate(
        spec,
        settings,
        budget,
        x=pool.inputs(spec.view),
        y=pool.y,
        folds=pool.folds,
        on_epoch=on_epoch,
        progress=progress,
        name=name,
    )
