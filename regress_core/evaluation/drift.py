"""Feature drift: population stability index of scored data against the training rows."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

N_BINS = 10
EPSILON = 1e-4
DRIFT_PSI = 0.2  # a population stability index past this is a large shift
MAX_ROWS_PER_BATCH = 65_536  # drift is a distribution statistic; a strided sample suffices


def feature_profile(df: pd.DataFrame, features: list[str]) -> dict[str, Any]:
    """Decile edges of each feature on the training rows and the share in each bin."""
    profile = {}
    for name in features:
        values = df[name].to_numpy(dtype="float64")
        values = values[np.isfinite(values)]
        edges = np.unique(np.quantile(values, np.linspace(0, 1, N_BINS + 1))[1:-1])
        counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1)
        profile[name] = {"edges": edges.tolist(), "shares": (counts / max(len(values), 1)).tolist()}
    return profile


class DriftCounter:
    """Counts scored values into the training bins, batch by batch."""

    def __init__(self, profile: dict[str, Any]) -> None:
        self.profile = profile
        self.counts = {name: np.zeros(len(spec["shares"]), dtype=np.int64) for name, spec in profile.items()}

    def update(self, numeric: pd.DataFrame) -> None:
        stride = max(1, -(-len(numeric) // MAX_ROWS_PER_BATCH))
        for name, spec in self.profile.items():
            values = numeric[name].to_numpy()[::stride]
            values = values[np.isfinite(values)]
            bins = np.searchsorted(np.asarray(spec["edges"]), values, side="right")
            self.counts[name] += np.bincount(bins, minlength=len(spec["shares"]))

    def merge(self, other: DriftCounter) -> DriftCounter:
        for name in self.counts:
            self.counts[name] += other.counts[name]
        return self

    def psi(self) -> dict[str, float]:
        """Population stability index per feature (0: same distribution; > 0.2: large shift)."""
        result = {}
        for name, spec in self.profile.items():
            total = self.counts[name].sum()
            if total == 0:
                continue
            expected = np.clip(np.asarray(spec["shares"]), EPSILON, None)
            actual = np.clip(self.counts[name] / total, EPSILON, None)
            result[name] = float(np.sum((actual - expected) * np.log(actual / expected)))
        return result
