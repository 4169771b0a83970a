"""Feature and target preprocessing fitted on train only, saved with the model."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import FunctionTransformer, QuantileTransformer, RobustScaler, StandardScaler

from regress_core.errors import DataError

SCALERS = ("standard", "quantile", "robust", "none")


def build_scaler(kind: str, *, n_rows: int, seed: int = 0) -> TransformerMixin:
    """Return an unfitted scikit-learn scaler by name."""
    if kind == "standard":
        return StandardScaler()
    if kind == "quantile":
        return QuantileTransformer(
            n_quantiles=max(10, min(1000, n_rows // 30)),
            output_distribution="normal",
            subsample=1_000_000_000,
            random_state=seed,
        )
    if kind == "robust":
        return RobustScaler()
    if kind == "none":
        return FunctionTransformer(feature_names_out="one-to-one")
    raise ValueError(f"scaler must be one of {SCALERS}, got {kind=}")


class Preprocessor(BaseEstimator):
    """Turns raw feature and target columns into float32 model inputs and back.

    Follows scikit-learn's contract: `fit` returns self, learned attributes end in `_`,
    and nothing transforms before `fit`.

    Args:
        features: Feature column names, in model input order.
        target: Target column name.
        scaler: One of "standard", "quantile", "robust", "none".
        scale_target: Standardise the target for training.
    """

    def __init__(self, *, features: list[str], target: str, scaler: str = "standard", scale_target: bool = True):
        self.features = features
        self.target = target
        self.scaler = scaler
        self.scale_target = scale_target

    def fit(self, df: pd.DataFrame) -> Preprocessor:
        """Fit the feature scaler and the target scaling on the training rows."""
        self.columns_ = ColumnTransformer(
            [("numeric", build_scaler(self.scaler, n_rows=len(df)), list(self.features))],
            remainder="drop",
        ).fit(df[self.features].astype("float64"))
        y = df[self.target].to_numpy(dtype="float64")
        std = float(y.std())
        self.target_mean_ = float(y.mean()) if self.scale_target else 0.0
        self.target_std_ = std if self.scale_target and std > 0 else 1.0
        self.n_features_out_ = len(self.columns_.get_feature_names_out())
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "columns_"):
            raise NotFittedError("Preprocessor is not fitted yet; call fit first")

    def transform_features(self, df: pd.DataFrame) -> np.ndarray:
        """Return the model inputs, shape (n_rows, n_features_out_), float32."""
        self._check_fitted()
        missing = [name for name in self.features if name not in df.columns]
        if missing:
            raise DataError(f"missing feature columns: {', '.join(missing)}")
        return np.ascontiguousarray(self.columns_.transform(df[self.features].astype("float64")), dtype=np.float32)

    def transform_target(self, y: np.ndarray | pd.Series) -> np.ndarray:
        """Scale target values, shape (n_rows,), float32."""
        self._check_fitted()
        return ((np.asarray(y, dtype="float64") - self.target_mean_) / self.target_std_).astype(np.float32)

    def inverse_target(self, y_scaled: np.ndarray) -> np.ndarray:
        """Map scaled predictions back to target units, float64."""
        self._check_fitted()
        return np.asarray(y_scaled, dtype="float64") * self.target_std_ + self.target_mean_
