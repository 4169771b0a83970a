"""Robust scaling with smooth clipping: numbers centred and scaled by quartiles, their tails bent, not cut.

As RealMLP-TD prepares numeric inputs (Holzmüller et al. 2024; pytabkit's RobustScale and
SmoothClip): each column is centred on its median and divided by its interquartile range (half
its full range where the quartiles agree; a constant column becomes 0), then
x -> x / sqrt(1 + (x / 3)^2), which leaves the middle of the distribution nearly linear and
bends outliers and sentinel codes (999999 for "unknown") towards +-3. Unlike a quantile
transform, distances in the bulk of a column survive, so a network still sees that one price
is twice another.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import validate_data

QUARTILES = (25.0, 75.0)
CLIP = 3.0


class RobustSmoothClip(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Centre on the median, divide by the interquartile range, then bend the tails smoothly towards +-3."""

    def fit(self, X: Any, y: Any = None) -> RobustSmoothClip:
        """Learn each column's median and scale from the fitting rows (blanks ignored)."""
        values = validate_data(self, X, reset=True, dtype="float64", ensure_all_finite="allow-nan")
        low, self.center_, high = np.nanpercentile(values, [QUARTILES[0], 50.0, QUARTILES[1]], axis=0)
        spread = high - low
        half_range = 0.5 * (np.nanmax(values, axis=0) - np.nanmin(values, axis=0))
        spread = np.where(spread > 0, spread, half_range)
        self.factor_ = np.where(spread > 0, 1.0 / np.where(spread > 0, spread, 1.0), 0.0)
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Shape as X, float64; blanks stay NaN."""
        if not hasattr(self, "factor_"):
            raise NotFittedError("RobustSmoothClip is not fitted yet; call fit first")
        values = validate_data(self, X, reset=False, dtype="float64", ensure_all_finite="allow-nan")
        scaled = (values - self.center_) * self.factor_
        return scaled / np.sqrt(1.0 + (scaled / CLIP) ** 2)
