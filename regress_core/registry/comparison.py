"""A fair comparison of a candidate with its champion: rows neither has seen, and how sure it is.

A retrain on a newer snapshot may test on rows the champion trained on, which flatters the
champion. Packages record fingerprints of their training and validation rows; the comparison
keeps only test rows outside both sets, and falls back to every test row (saying so) when too
few remain. A paired bootstrap over those rows gives an interval for the RMSE difference, so
a reader can tell a real gain from noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from regress_core.evaluation.metrics import regression_metrics

BOOTSTRAP_SAMPLES = 2000
LEVEL = 0.95
SEED = 0
# Bound the resampled index matrix to about this many entries at a time (16 MB of int64).
CHUNK_ENTRIES = 2_000_000


@dataclass(frozen=True)
class Comparison:
    """Candidate and champion on the same test rows.

    Attributes:
        rows: Test rows compared.
        test_rows: All test rows of the candidate.
        seen_by_candidate: Test rows left out because the candidate trained or validated on them.
        seen_by_champion: Test rows left out because the champion trained or validated on them.
        unseen_only: Whether only rows neither model has seen were compared (False: the fallback).
        note: In words, which rows were compared and why.
        candidate: Candidate metrics on the compared rows.
        champion: Champion metrics on the compared rows.
        difference: Candidate RMSE minus champion RMSE (negative: the candidate is better).
        interval: Paired bootstrap interval of `difference` at `level`.
    """

    rows: int
    test_rows: int
    seen_by_candidate: int
    seen_by_champion: int
    unseen_only: bool
    note: str
    candidate: dict[str, float]
    champion: dict[str, float]
    difference: float
    interval: tuple[float, float]
    level: float = LEVEL
    samples: int = BOOTSTRAP_SAMPLES

    @property
    def interval_text(self) -> str:
        low, high = self.interval
        return f"{self.level:.0%} bootstrap interval of the difference [{low:+.4f}, {high:+.4f}]"


def paired_bootstrap_interval(
    errors_a: np.ndarray,
    errors_b: np.ndarray,
    *,
    samples: int = BOOTSTRAP_SAMPLES,
    level: float = LEVEL,
    seed: int = SEED,
) -> tuple[float, float]:
    """Percentile interval of RMSE(a) - RMSE(b) over rows resampled with replacement, pairs kept together.

    Args:
        errors_a: Squared errors of model a per row, shape (n_rows,).
        errors_b: Squared errors of model b on the same rows, shape (n_rows,).
    """
    if errors_a.shape != errors_b.shape or errors_a.ndim != 1 or len(errors_a) == 0:
        raise ValueError(f"need two equal, non-empty 1-D error arrays, got {errors_a.shape=} and {errors_b.shape=}")
    rng = np.random.default_rng(seed)
    n_rows = len(errors_a)
    differences = np.empty(samples)
    chunk = max(1, CHUNK_ENTRIES // n_rows)
    for start in range(0, samples, chunk):
        index = rng.integers(0, n_rows, size=(min(chunk, samples - start), n_rows))
        differences[start : start + len(index)] = np.sqrt(errors_a[index].mean(axis=1)) - np.sqrt(
            errors_b[index].mean(axis=1)
        )
    tail = (1 - level) / 2
    low, high = np.quantile(differences, [tail, 1 - tail])
    return float(low), float(high)


def compare(
    y: np.ndarray,
    candidate: np.ndarray,
    champion: np.ndarray,
    *,
    seen_by_candidate: np.ndarray,
    seen_by_champion: np.ndarray | None,
    min_rows: int,
) -> Comparison:
    """Compare two models' predictions on the test rows neither has seen.

    Args:
        y: True targets of the candidate's test rows, shape (n_rows,).
        candidate: Candidate predictions, shape (n_rows,).
        champion: Champion predictions, shape (n_rows,).
        seen_by_candidate: True where the candidate trained or validated on the row.
        seen_by_champion: The same for the champion; None when its package records no rows.
        min_rows: Fewest unseen rows to compare on; below it every test row is used.
    """
    n_rows = len(y)
    champion_seen = seen_by_champion if seen_by_champion is not None else np.zeros(n_rows, dtype=bool)
    unseen = ~seen_by_candidate & ~champion_seen
    n_unseen = int(unseen.sum())
    left_out = f"{int(seen_by_candidate.sum())} seen by the candidate, {int(champion_seen.sum())} by the champion"
    if n_unseen >= min_rows:
        rows = unseen
        if n_unseen == n_rows:
            note = f"all {n_rows} test rows, none seen in training or validation by either model"
        else:
            note = f"{n_unseen} of {n_rows} test rows unseen by both models (left out: {left_out})"
        if seen_by_champion is None:
            note += "; the champion records no training rows (an older package), so none could be left out for it"
    else:
        rows = np.ones(n_rows, dtype=bool)
        note = (
            f"all {n_rows} test rows: only {n_unseen} are unseen by both models, fewer than "
            f"gate.min_comparison_rows={min_rows} ({left_out}; rows a model has seen flatter it)"
        )
    y_used = y[rows]
    errors_candidate = (candidate[rows] - y_used) ** 2
    errors_champion = (champion[rows] - y_used) ** 2
    candidate_metrics = regression_metrics(y_used, candidate[rows])
    champion_metrics = regression_metrics(y_used, champion[rows])
    return Comparison(
        rows=int(rows.sum()),
        test_rows=n_rows,
        seen_by_candidate=int(seen_by_candidate.sum()),
        seen_by_champion=int(champion_seen.sum()),
        unseen_only=bool(n_unseen >= min_rows),
        note=note,
        candidate=candidate_metrics,
        champion=champion_metrics,
        difference=candidate_metrics["rmse"] - champion_metrics["rmse"],
        interval=paired_bootstrap_interval(errors_candidate, errors_champion),
    )
