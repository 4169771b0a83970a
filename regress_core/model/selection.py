"""Model selection on validation rows only, and the chosen model fitted.

Kind auto trains the candidates (linear: closed-form ridge on the standardised view; mlp;
embedding_mlp) and keeps one, judged on validation rows only: below `cv_below_rows`
train + validation rows, k-fold cross-validation over the pooled rows (out-of-fold
predictions); above, the project's validation split. A fixed kind trains that kind
alone, the same way. Test rows never reach this module.

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
from regress_core.model.optim import TrainSettings
from regress_core.model.spec import ModelSpec
from regress_core.model.training import EpochRecord, network_spec

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

    Small tables train on one CPU thread (`threads_for`).

    Args:
        data: Training and validation rows (never test rows) in both views.
        model: Architecture settings; fields the preset leaves open are sized per candidate.
        train: Optimisation, cross-validation and seed settings.
        on_epoch: Called at every validation check of every network candidate.
        progress: Show a progress bar while a network trains on a validation split.
    """
    with threads_for(len(data.y_train) + len(data.y_val)):
        return _select_model(data, model, train, on_epoch=on_epoch, progress=progress)


def _select_model(
    data: TableViews,
    model: ModelConfig,
    train: TrainConfig,
    *,
    on_epoch: Callable[[EpochRecord], None] | None,
    progress: bool,
) -> Selection:
    resolved = RegressConfig(model=model, train=train).resolved()
    model, train = resolved.model, resolved.train
    n_train, n_pool = len(data.y_train), len(data.y_train) + len(data.y_val)
    x = np.concatenate([data.x_train, data.x_val])
    x_std = np.concatenate([data.x_train_standard, data.x_val_standard])
    y = np.concatenate([data.y_train, data.y_val])
    n_folds = train.cv_folds or 0
    # Every fold holds out at least two rows; a table too small for that keeps its validation split.
    use_cv = n_folds >= 2 and 2 * n_folds <= n_pool < (train.cv_below_rows or 0)
    if use_cv:
        folds: Folds = list(KFold(n_splits=n_folds, shuffle=True, random_state=train.seed).split(x))
    else:
        n_folds, folds = 1, [(np.arange(n_train), np.arange(n_train, n_pool))]
    n_fit = min(len(train_rows) for train_rows, _ in folds)
    continuous = continuous_columns(x if use_cv else data.x_train, indicators=data.indicators)

    def budget_of(kind: ModelKind) -> Budget:
        return plan_budget(
            kind=kind,
            n_train=n_fit,
            n_inputs=x.shape[1],
            n_embedded=len(continuous),
            model=model,
            train=train,
            n_folds=n_folds,
        )

    names = candidate_names(model, n_fit=n_fit, use_cv=use_cv)
    fitted: dict[str, FittedCandidate] = {}
    scores = []
    for name in names:
        started = time.perf_counter()
        if model.kind == "auto" and name == "linear":
            fitted[name] = fit_ridge_candidate(x_std, y, folds)
        else:
            budget = budget_of(name)
            spec = network_spec(name, budget, model=model, embedded=continuous, n_folds=n_folds)
            settings = TrainSettings.from_config(train, budget)
            try:
                fitted[name] = fit_network_candidate(
                    spec, settings, budget, x=x, y=y, folds=folds, on_epoch=on_epoch, progress=progress, name=name
                )
            except TrainingError:
                if len(names) == 1:
                    raise
                # A diverged candidate scores infinity and is never chosen; the others still compete.
                scores.append(CandidateScore(name, math.inf, (math.inf,) * len(folds), time.perf_counter() - started))
                continue
        scores.append(fold_scores(name, fitted[name].predictions, y, folds, seconds=time.perf_counter() - started))
    chosen = choose(scores, use_cv=use_cv)
    if chosen not in fitted:
        raise TrainingError(f"every candidate diverged ({', '.join(names)}); lower train.lr or scale the target")
    best = fitted[chosen]
    # The chosen network's budget; for ridge, the embedding ensemble's (trained or not): what a network got.
    ensemble = fitted.get("embedding_mlp")
    recorded = best.budget or (ensemble.budget if ensemble is not None else None) or budget_of("embedding_mlp")
    score = next(s for s in scores if s.name == chosen)
    return Selection(
        model=best.model,
        spec=best.spec,
        chosen=chosen,
        scheme=f"{len(folds)}-fold cross-validation" if use_cv else "validation split",
        scores=scores,
        budget=recorded,
        history=best.history,
        best_epoch=best.best_epoch,
        best_val_loss=score.mse,
        stopped_early=best.stopped_early,
        device=best.device,
        precision=best.precision,
        fold_best_epochs=best.fold_best_epochs,
        target_std=data.target_std,
    )
