"""The candidates of model selection, fitted and scored on held-out rows.

Which inputs get embeddings; the linear candidate, ridge regression in closed form (one
SVD gives the whole penalty path, no training loop); and the networks (plain MLP,
embedding ensemble), trained by `training.fit_network` on a validation split or by
`folds.fit_folds`, one model per cross-validation fold.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from regress_core.model.budget import Budget
from regress_core.model.folds import Folds, fit_folds
from regress_core.model.loop import EpochRecord
from regress_core.model.networks import LinearRegressor
from regress_core.model.optim import TrainSettings
from regress_core.model.predict import predict_scaled
from regress_core.model.spec import ModelSpec, feature_view
from regress_core.model.training import fit_network

# Penalties tried, as multiples of the training rows (so the grid means the same at any size).
RIDGE_ALPHAS = np.logspace(-4, 3, 29)


def continuous_columns(x_train: np.ndarray, *, indicators: Sequence[int] = ()) -> list[int]:
    """Indices of the model inputs to embed: not a 0/1 indicator and more than two distinct values.

    One-hot categories and missing-value flags are 0/1 by construction (`indicators`), and a
    numeric input with at most two distinct training values (a 0/1 column, a sex code) is
    binary too: a piecewise-linear encoding has nothing to bend between two points, and its
    bins would be fitted on almost nothing.

    Args:
        x_train: Model inputs of the training rows, shape (n_rows, n_features).
        indicators: Indices of the inputs that are 0/1 by construction.
    """
    skip = set(indicators)
    return [index for index in range(x_train.shape[1]) if index not in skip and len(np.unique(x_train[:, index])) > 2]


@dataclass(frozen=True)
class RidgeFit:
    """A closed-form ridge regression: its model (output (batch, 1)) and chosen penalty."""

    model: LinearRegressor
    alpha: float


def fit_ridge(x_train: np.ndarray, y_train: np.ndarray) -> RidgeFit:
    """Ridge regression in closed form, its penalty chosen by generalised cross-validation.

    One SVD of the centred inputs in float64 gives every penalty's fit; the intercept is
    not penalised. Meant for standardised inputs (the penalty treats every input alike).

    Args:
        x_train: Inputs, shape (n_rows, n_features).
        y_train: Targets, shape (n_rows,).
    """
    if len(x_train) < 2:
        raise ValueError(f"ridge needs at least two rows, got {len(x_train)}")
    x = torch.as_tensor(np.asarray(x_train), dtype=torch.float64)
    y = torch.as_tensor(np.asarray(y_train), dtype=torch.float64)
    x_mean, y_mean = x.mean(0), y.mean()
    xc, yc = x - x_mean, y - y_mean
    u, s, vh = torch.linalg.svd(xc, full_matrices=False)
    uty = u.T @ yc
    n_rows = len(y)
    best_gcv, best_alpha, best_coef = float("inf"), 0.0, torch.zeros(x.shape[1], dtype=torch.float64)
    for alpha in RIDGE_ALPHAS * n_rows:
        shrink = s / (s**2 + alpha)
        coef = vh.T @ (shrink * uty)
        residual = yc - xc @ coef
        dof = float((s**2 / (s**2 + alpha)).sum())
        gcv = float((residual**2).mean()) / max(1e-12, 1 - dof / n_rows) ** 2
        if gcv < best_gcv:
            best_gcv, best_alpha, best_coef = gcv, float(alpha), coef
    model = LinearRegressor(n_features=x.shape[1])
    with torch.no_grad():
        model.linear.weight.copy_(best_coef.reshape(1, -1).float())
        model.linear.bias.fill_(float(y_mean - x_mean @ best_coef))
    return RidgeFit(model=model.eval(), alpha=best_alpha)


@dataclass
class FittedCandidate:
    """One candidate after training: its model, its held-out predictions and how its training went."""

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


def fit_ridge_candidate(x_std: np.ndarray, y: np.ndarray, folds: Folds) -> FittedCandidate:
    """Ridge scored on each fold's held-out rows; kept refitted on every row (on a validation split, as fitted)."""
    predictions = np.full(len(y), np.nan, dtype=np.float32)
    for train_rows, held in folds:
        fold_fit = fit_ridge(x_std[train_rows], y[train_rows])
        predictions[held] = predict_scaled(fold_fit.model, x_std[held])
    final = fit_ridge(x_std, y) if len(folds) > 1 else fold_fit
    spec = ModelSpec(kind="linear", n_features=x_std.shape[1], view=feature_view("linear"))
    return FittedCandidate(model=final.model, spec=spec, predictions=predictions)


def fit_network_candidate(
    spec: ModelSpec,
    settings: TrainSettings,
    budget: Budget,
    *,
    x: np.ndarray,
    y: np.ndarray,
    folds: Folds,
    on_epoch: Callable[[EpochRecord], None] | None = None,
    progress: bool = False,
    name: str = "",
) -> FittedCandidate:
    """A network trained on every fold at once (several folds) or on the validation split, scored on held-out rows."""
    if len(folds) > 1:
        result = fit_folds(spec, settings, x=x, y=y, folds=folds, on_epoch=on_epoch, candidate=name)
        return FittedCandidate(
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
    return FittedCandidate(
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
