"""The candidate models' building blocks: which inputs to embed, and ridge regression in closed form.

The networks (plain MLP, embedding ensemble) are trained by `training.fit_network` or,
one per cross-validation fold, by `folds.fit_folds`; the linear candidate needs no
training loop: one SVD gives the whole penalty path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from regress_core.model.networks import LinearRegressor

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
