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
from regress_core.model.budget import Budget, plan_budget
from regress_core.model.candidates import continuous_columns, fit_ridge
from regress_core.model.choice import CandidateScore, choose, fold_scores
from regress_core.model.folds import Folds, fit_folds
from regress_core.model.predict import predict_scaled
from regress_core.model.spec import ModelSpec
from regress_core.model.training import EpochRecord, TrainSettings, fit_network, network_spec

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
                {"name": s.name, "val_rmse": math.sqrt(s.mse) * self.target_std, "seconds": round(s.seconds, 3)}
                for s in self.scores
            ],
            "budget": self.budget.to_dict(),
        }


@dataclass
class _Fitted:
    """One candidate after training: its model and what the summary needs about it."""

    model: nn.Module
    spec: ModelSpec
    predictions: np.ndarray  # validation (or out-of-fold) predictions, scaled
    budget: Budget | None = None
    history: list[EpochRecord] = field(default_factory=list)
    best_epoch: int = 0
    stopped_early: bool = False
    device: str = "cpu"
    precision: str = "float64"
    fold_best_epochs: list[int] | None = None


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

    Args:
        data: Training and validation rows (never test rows) in both views.
        model: Architecture settings; fields the preset leaves open are sized per candidate.
        train: Optimisation, cross-validation and seed settings.
        on_epoch: Called at every validation check of every network candidate.
        progress: Show a progress bar while a network trains on a validation split.
    """
    resolved = RegressConfig(model=model, train=train).resolved()
    model, train = resolved.model, resolved.train
    auto = model.kind == "auto"
    n_pool = len(data.y_train) + len(data.y_val)
    folds_wanted = train.cv_folds or 0
    use_cv = folds_wanted >= 2 and n_pool < (train.cv_below_rows or 0)
    if use_cv:
        x = np.concatenate([data.x_train, data.x_val])
        x_std = np.concatenate([data.x_train_standard, data.x_val_standard])
        y = np.concatenate([data.y_train, data.y_val])
        folds: Folds = list(KFold(n_splits=folds_wanted, shuffle=True, random_state=train.seed).split(x))
    else:
        x, x_std = (
            np.concatenate([data.x_train, data.x_val]),
            np.concatenate([data.x_train_standard, data.x_val_standard]),
        )
        y = np.concatenate([data.y_train, data.y_val])
        n_train = len(data.y_train)
        folds = [(np.arange(n_train), np.arange(n_train, n_pool))]
    n_fit = min(len(train_rows) for train_rows, _ in folds)
    continuous = continuous_columns(x if use_cv else data.x_train, indicators=data.indicators)
    names = candidate_names(model, n_fit=n_fit, use_cv=use_cv)
    fitted: dict[str, _Fitted] = {}
    scores = []
    for name in names:
        started = time.perf_counter()
        if auto and name == "linear":
            fitted[name] = _fit_ridge(x_std, y, folds, use_cv=use_cv)
        else:
            budget = plan_budget(
                kind=name,
                n_train=n_fit,
                n_inputs=x.shape[1],
                n_embedded=len(continuous),
                model=model,
                train=train,
                n_folds=len(folds) if use_cv else 1,
            )
            spec = network_spec(name, budget, model=model, embedded=continuous, n_folds=len(folds) if use_cv else 1)
            settings = TrainSettings.from_config(train, budget)
            fitted[name] = _fit_network(spec, settings, budget, x, y, folds, use_cv, on_epoch, progress, name)
        scores.append(fold_scores(name, fitted[name].predictions, y, folds, seconds=time.perf_counter() - started))
    chosen = choose(scores, use_cv=use_cv)
    best = fitted[chosen]
    # The chosen network's budget; for ridge, the embedding ensemble's (trained or not): what a network got.
    ensemble = fitted.get("embedding_mlp")
    recorded = best.budget or (ensemble.budget if ensemble is not None else None)
    if recorded is None:
        recorded = plan_budget(
            kind="embedding_mlp",
            n_train=n_fit,
            n_inputs=x.shape[1],
            n_embedded=len(continuous),
            model=model,
            train=train,
            n_folds=len(folds) if use_cv else 1,
        )
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


def _fit_ridge(x_std: np.ndarray, y: np.ndarray, folds: Folds, *, use_cv: bool) -> _Fitted:
    """Ridge scored on each fold's held-out rows; kept refitted on every pooled row (or, on a split, as fitted)."""
    predictions = np.full(len(y), np.nan, dtype=np.float32)
    for train_rows, held in folds:
        fold_fit = fit_ridge(x_std[train_rows], y[train_rows])
        predictions[held] = predict_scaled(fold_fit.model, x_std[held])
    final = fit_ridge(x_std, y) if use_cv else fold_fit
    spec = ModelSpec(kind="linear", n_features=x_std.shape[1], view="standard")
    return _Fitted(model=final.model, spec=spec, predictions=predictions)


def _fit_network(
    spec: ModelSpec,
    settings: TrainSettings,
    budget: Budget,
    x: np.ndarray,
    y: np.ndarray,
    folds: Folds,
    use_cv: bool,
    on_epoch: Callable[[EpochRecord], None] | None,
    progress: bool,
    name: str,
) -> _Fitted:
    if use_cv:
        result = fit_folds(spec, settings, x=x, y=y, folds=folds, on_epoch=on_epoch, candidate=name)
        return _Fitted(
            model=result.model,
            spec=spec,
            predictions=result.oof,
            budget=budget,
            history=result.history,
            best_epoch=max(result.best_epochs),
            stopped_early=result.stopped_early,
            device=result.device,
            precision=result.precision,
            fold_best_epochs=result.best_epochs,
        )
    (train_rows, held) = folds[0]
    single = fit_network(
        spec,
        settings,
        x_train=x[train_rows],
        y_train=y[train_rows],
        x_val=x[held],
        y_val=y[held],
        on_epoch=on_epoch,
        progress=progress,
        candidate=name,
    )
    predictions = np.full(len(y), np.nan, dtype=np.float32)
    predictions[held] = predict_scaled(single.model, x[held])
    return _Fitted(
        model=single.model,
        spec=spec,
        predictions=predictions,
        budget=budget,
        history=single.history,
        best_epoch=single.best_epoch,
        stopped_early=single.stopped_early,
        device=single.device,
        precision=single.precision,
    )
