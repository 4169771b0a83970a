"""Feature and target preprocessing fitted on train only, saved with the model."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import NotFittedError
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    OneHotEncoder,
    QuantileTransformer,
    RobustScaler,
    StandardScaler,
    TargetEncoder,
)

from regress_core.data.clipping import RobustSmoothClip
from regress_core.data.contract import DataContract, normalize_frame
from regress_core.data.date_parts import DateParts
from regress_core.data.dates import to_days
from regress_core.data.group_keys import group_keys
from regress_core.data.text_features import TextFeatures, reads_as_text
from regress_core.errors import DataError

SCALERS = ("standard", "quantile", "robust", "robust_clip", "none")
VIEWS = ("configured", "standard")  # the configured scaler; standardised (for the linear candidate)
# Output names start with the ColumnTransformer branch that made them; these branches emit 0/1 columns.
INDICATOR_BRANCHES = ("missing_flags__", "categorical__")
# A categorical column of more categories than this is target-encoded (each category becomes the
# smoothed mean target of its training rows, cross-fitted on those rows), not one-hot encoded:
# one column instead of hundreds, and no weight to learn per rare category.
ONE_HOT_MAX_CATEGORIES = 20
TARGET_ENCODING_FOLDS = 5


def build_scaler(kind: str, *, n_rows: int, seed: int = 0) -> TransformerMixin:
    """Return an unfitted scikit-learn scaler by name ("robust_clip": `RobustSmoothClip`)."""
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
    if kind == "robust_clip":
        return RobustSmoothClip()
    if kind == "none":
        return FunctionTransformer(feature_names_out="one-to-one")
    raise ValueError(f"scaler must be one of {SCALERS}, got {kind=}")


class Preprocessor(BaseEstimator):
    """Turns raw feature and target columns into float32 model inputs and back.

    One fitted scikit-learn ColumnTransformer, built from the data contract: numeric
    columns are scaled; numeric columns the contract marks nullable are imputed with the
    training median and get a missing-value indicator; categorical columns are one-hot
    encoded (blanks imputed with the most frequent category where nullable; categories
    unseen in training encode as all zeros and are counted by `count_unseen`), and those of
    more than ONE_HOT_MAX_CATEGORIES categories target-encoded instead (out of fold on the
    training rows: see `fit_transform_views`; unseen categories get the training mean) and
    scaled like numeric columns; of those, a column that reads as free text (`reads_as_text`)
    also gives its character n-gram features (`TextFeatures`), scaled the same way; datetime
    columns become their year, month, day of week, day of year, hour (where the training
    rows hold times of day) and days since the training rows' first day (see `DateParts`,
    which keeps that day), scaled like numeric columns, and where nullable imputed with the
    training median and flagged like numeric columns. A numeric column that reads as the key
    of a group of rows on the training rows (a person's number in a panel: see
    `regress_core.data.group_keys`) is also target-encoded, as a category, beside its scaled
    value. Identifier columns are not features.
    Follows scikit-learn's contract: `fit` returns self, learned attributes end in `_`, and
    nothing transforms before `fit`.

    It holds two views of the same columns, fitted on the same rows: "configured" scales
    numeric columns with `scaler` (the networks' inputs), "standard" standardises them (the
    linear candidate's inputs: a quantile scaler would bend a straight line). Both views have
    the same columns in the same order; when `scaler` is "standard" they are one transformer.

    Args:
        contract: The data contract of the training table.
        scaler: One of SCALERS.
        scale_target: Standardise the target for training.
    """

    def __init__(self, *, contract: DataContract, scaler: str = "standard", scale_target: bool = True):
        self.contract = contract
        self.scaler = scaler
        self.scale_target = scale_target

    def __getstate__(self) -> dict[str, object]:
        # The contract is saved as plain data and validated again on load, so a saved
        # preprocessor holds scikit-learn and numpy objects only.
        state = dict(super().__getstate__())
        state["contract"] = self.contract.model_dump(mode="json")
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        super().__setstate__({**state, "contract": DataContract.model_validate(state["contract"])})

    @property
    def features(self) -> list[str]:
        return self.contract.feature_names

    @property
    def target(self) -> str:
        return self.contract.target

    def _categorical_groups(self) -> tuple[list[str], list[str]]:
        """Categorical columns to one-hot encode, and those of too many categories, to target-encode."""
        few: list[str] = []
        many: list[str] = []
        for name in self.contract.names_of("categorical"):
            categories = self.contract.column(name).categories
            (many if categories and len(categories) > ONE_HOT_MAX_CATEGORIES else few).append(name)
        return few, many

    def _branches(
        self, n_rows: int, scaler: str, texts: list[str], keys: list[str]
    ) -> list[tuple[str, object, list[str]]]:
        numeric = self.contract.names_of("numeric")
        dates = self.contract.names_of("datetime")
        nullable = {c.name for c in self.contract.columns if c.nullable}
        plain = [name for name in numeric if name not in nullable]
        gappy = [name for name in numeric if name in nullable]
        flagged = gappy + [name for name in dates if name in nullable]
        branches = []
        if plain:
            branches.append(("numeric", build_scaler(scaler, n_rows=n_rows), plain))
        if gappy:
            imputed = make_pipeline(SimpleImputer(strategy="median"), build_scaler(scaler, n_rows=n_rows))
            branches.append(("numeric_imputed", imputed, gappy))
        if flagged:
            branches.append(("missing_flags", MissingIndicator(features="all"), flagged))
        few, many = self._categorical_groups()
        if few:
            steps = [SimpleImputer(strategy="most_frequent")] if nullable & set(few) else []
            steps.append(OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float64))
            branches.append(("categorical", make_pipeline(*steps), few))
        folds = KFold(n_splits=TARGET_ENCODING_FOLDS, shuffle=True, random_state=0)
        if many:
            steps = [SimpleImputer(strategy="most_frequent")] if nullable & set(many) else []
            steps += [TargetEncoder(target_type="continuous", cv=folds), build_scaler(scaler, n_rows=n_rows)]
            branches.append(("target_encoded", make_pipeline(*steps), many))
        if keys:
            encoder = TargetEncoder(target_type="continuous", cv=folds)
            branches.append(("group_key", make_pipeline(encoder, build_scaler(scaler, n_rows=n_rows)), keys))
        for index, name in enumerate(texts):
            branches.append(
                (f"text{index}", make_pipeline(TextFeatures(), build_scaler(scaler, n_rows=n_rows)), [name])
            )
        if dates:
            parts = [DateParts()]
            parts += [SimpleImputer(strategy="median")] if nullable & set(dates) else []
            branches.append(("datetime", make_pipeline(*parts, build_scaler(scaler, n_rows=n_rows)), dates))
        return branches

    def _frame(self, df: pd.DataFrame) -> pd.DataFrame:
        missing = [name for name in self.features if name not in df.columns]
        if missing:
            raise DataError(f"missing feature columns: {', '.join(missing)}")
        frame = normalize_frame(df[self.features], self.contract)
        for name in self.contract.names_of("numeric"):
            frame[name] = frame[name].astype("float64")
        for name in self.contract.names_of("datetime"):
            frame[name] = to_days(frame[name])  # float days, so blanks are NaN for the missing-value flags
        return frame

    def fit(self, df: pd.DataFrame) -> Preprocessor:
        """Fit every feature transform and the target scaling on the training rows."""
        self.fit_transform_views(df)
        return self

    def fit_transform_views(self, df: pd.DataFrame, *, held_out: pd.DataFrame | None = None) -> dict[str, np.ndarray]:
        """Fit on the training rows and return their model inputs in each view (float32).

        The training rows' target encodings are cross-fitted (each row encoded by the other
        folds' rows, as scikit-learn's TargetEncoder does in `fit_transform`), so a network
        never sees a row's own target in its inputs; every other row, as `transform_features`.
        `held_out` (the validation rows; their target is not read) only lets a group key that
        holds few of their values be left out (`regress_core.data.group_keys`).
        """
        frame = self._frame(df)
        y = df[self.target].to_numpy(dtype="float64")
        self.text_columns_ = [name for name in self._categorical_groups()[1] if reads_as_text(frame[name])]
        plain = [c.name for c in self.contract.columns if c.kind == "numeric" and not c.nullable and c.name in frame]
        later = self._frame(held_out) if held_out is not None else None
        self.group_keys_ = group_keys(frame, y, plain, held_out=later)
        extra = (self.text_columns_, self.group_keys_)
        self.columns_ = ColumnTransformer(self._branches(len(df), self.scaler, *extra), remainder="drop")
        views = {"configured": self.columns_.fit_transform(frame, y)}
        if self.scaler == "standard":
            self.standard_columns_ = self.columns_
            views["standard"] = views["configured"]
        else:
            branches = self._branches(len(df), "standard", *extra)
            self.standard_columns_ = ColumnTransformer(branches, remainder="drop")
            views["standard"] = self.standard_columns_.fit_transform(frame, y)
        std = float(y.std())
        self.target_mean_ = float(y.mean()) if self.scale_target else 0.0
        self.target_std_ = std if self.scale_target and std > 0 else 1.0
        self.n_features_out_ = len(self.columns_.get_feature_names_out())
        return {view: np.ascontiguousarray(x, dtype=np.float32) for view, x in views.items()}

    def _check_fitted(self) -> None:
        if not hasattr(self, "columns_"):
            raise NotFittedError("Preprocessor is not fitted yet; call fit first")

    def _view(self, view: str) -> ColumnTransformer:
        if view == "configured":
            return self.columns_
        if view != "standard":
            raise ValueError(f"view must be one of {VIEWS}, got {view=}")
        if not hasattr(self, "standard_columns_"):  # saved before the standard view existed
            raise DataError("this preprocessor was saved without a standard-scaled view; retrain the model")
        return self.standard_columns_

    def transform_features(self, df: pd.DataFrame, *, view: str = "configured") -> np.ndarray:
        """Return the model inputs, shape (n_rows, n_features_out_), float32.

        Args:
            df: Rows with every feature column.
            view: "configured" (scaled with `scaler`) or "standard" (standardised).
        """
        self._check_fitted()
        return np.ascontiguousarray(self._view(view).transform(self._frame(df)), dtype=np.float32)

    def feature_names_out(self) -> list[str]:
        """Names of the model inputs, each prefixed by its branch ("numeric__", "categorical__", ...)."""
        self._check_fitted()
        return [str(name) for name in self.columns_.get_feature_names_out()]

    def indicator_columns(self) -> list[int]:
        """Indices of the model inputs that are 0/1 by construction: one-hot categories and missing flags."""
        return [index for index, name in enumerate(self.feature_names_out()) if name.startswith(INDICATOR_BRANCHES)]

    def count_unseen(self, df: pd.DataFrame) -> dict[str, int]:
        """Rows per categorical column whose category was not seen in training."""
        self._check_fitted()
        categorical = self.contract.names_of("categorical")
        missing = [name for name in categorical if name not in df.columns]
        if missing:
            raise DataError(f"missing feature columns: {', '.join(missing)}")
        counts = {}
        for branch, encoder_index in (("categorical", -1), ("target_encoded", -2)):
            if branch not in self.columns_.named_transformers_:
                continue
            encoder = self.columns_.named_transformers_[branch][encoder_index]
            names = list(self.columns_.named_transformers_[branch].feature_names_in_)
            frame = normalize_frame(df[names], self.contract)
            for name, known in zip(names, encoder.categories_, strict=True):
                values = frame[name]
                counts[name] = int((values.notna() & ~values.isin(set(known))).sum())
        return {name: counts[name] for name in categorical if name in counts}

    def transform_target(self, y: np.ndarray | pd.Series) -> np.ndarray:
        """Scale target values, shape (n_rows,), float32."""
        self._check_fitted()
        return ((np.asarray(y, dtype="float64") - self.target_mean_) / self.target_std_).astype(np.float32)

    def inverse_target(self, y_scaled: np.ndarray) -> np.ndarray:
        """Map scaled predictions back to target units, float64."""
        self._check_fitted()
        return np.asarray(y_scaled, dtype="float64") * self.target_std_ + self.target_mean_
