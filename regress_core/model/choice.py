"""Scoring candidates on held-out rows and choosing one.

Under cross-validation the choice follows the one-standard-error rule: the simplest
candidate whose mean fold MSE is within one standard error (of the best candidate's fold
MSEs) of the best. Fold-to-fold noise on a small table is often larger than the gap
between a straight line and a network; a network then has to earn its place. On a
validation split there is one score per candidate and the lowest wins.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from regress_core.model.folds import Folds

ORDER = ("linear", "mlp", "embedding_mlp")  # simplest first


@dataclass(frozen=True)
class CandidateScore:
    """A candidate's held-out error in scaled target units.

    Attributes:
        name: The model kind.
        mse: Mean squared error over every held-out row (out-of-fold under cross-validation).
        fold_mse: The MSE of each fold's held-out rows (one value on a validation split).
        seconds: Wall time of training and scoring the candidate.
    """

    name: str
    mse: float
    fold_mse: tuple[float, ...]
    seconds: float

    @property
    def standard_error(self) -> float:
        """Standard error of the mean fold MSE (0 with a single fold)."""
        if len(self.fold_mse) < 2:
            return 0.0
        return float(np.std(self.fold_mse, ddof=1) / math.sqrt(len(self.fold_mse)))


def fold_scores(name: str, predictions: np.ndarray, y: np.ndarray, folds: Folds, *, seconds: float) -> CandidateScore:
    """Score held-out predictions: pooled MSE and per-fold MSEs (non-finite predictions score infinity)."""
    held = np.concatenate([rows for _, rows in folds])
    errors = (predictions.astype("float64") - y.astype("float64")) ** 2
    if not np.isfinite(errors[held]).all():
        return CandidateScore(name, math.inf, tuple(math.inf for _ in folds), seconds)
    per_fold = tuple(float(errors[rows].mean()) for _, rows in folds)
    return CandidateScore(name, float(errors[held].mean()), per_fold, seconds)


def choose(scores: list[CandidateScore], *, use_cv: bool) -> str:
    """The chosen candidate's name: lowest error, or under cross-validation the one-standard-error rule."""
    if not scores:
        raise ValueError("no candidate to choose from")
    best = min(scores, key=lambda score: score.mse)
    if not use_cv or not math.isfinite(best.mse):
        return best.name
    ceiling = best.mse + best.standard_error
    ranked = sorted(scores, key=lambda score: ORDER.index(score.name) if score.name in ORDER else len(ORDER))
    return next(score.name for score in ranked if score.mse <= ceiling)
