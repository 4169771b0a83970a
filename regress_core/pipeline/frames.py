"""The scale and train stages in memory, on data frames: for notebooks, benchmarks and studies.

`fit_frames` does what the scale stage and the train stage do, without a workspace or a
cache: fit the preprocessor on the training rows, put the training and validation rows in
both feature views, and select and fit the model on them. Test rows are never passed in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from regress_core.config import RegressConfig
from regress_core.data.contract import DataContract
from regress_core.data.preprocessing import Preprocessor
from regress_core.model.predict import predict_scaled
from regress_core.model.selection import Selection, TableViews, select_model
from regress_core.model.training import EpochRecord


@dataclass
class FittedModel:
    """A fitted preprocessor and the model selected on its features."""

    preprocessor: Preprocessor
    selection: Selection

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        """Predictions in target units, read through the chosen model's feature view."""
        x = self.preprocessor.transform_features(df, view=self.selection.spec.view)
        return self.preprocessor.inverse_target(predict_scaled(self.selection.model, x))


def fitted_views(preprocessor: Preprocessor, train: pd.DataFrame, val: pd.DataFrame) -> TableViews:
    """Fit `preprocessor` on `train`; the training and validation rows in both its views, targets scaled.

    The training rows' target encodings are cross-fitted (`Preprocessor.fit_transform_views`).
    """
    target = preprocessor.target
    train_views = preprocessor.fit_transform_views(train, held_out=val)
    return TableViews(
        x_train=train_views["configured"],
        x_val=preprocessor.transform_features(val),
        x_train_standard=train_views["standard"],
        x_val_standard=preprocessor.transform_features(val, view="standard"),
        y_train=preprocessor.transform_target(train[target]),
        y_val=preprocessor.transform_target(val[target]),
        indicators=tuple(preprocessor.indicator_columns()),
        target_std=preprocessor.target_std_,
    )


def fit_frames(
    train: pd.DataFrame,
    val: pd.DataFrame,
    contract: DataContract,
    config: RegressConfig,
    *,
    on_epoch: Callable[[EpochRecord], None] | None = None,
) -> FittedModel:
    """Fit the preprocessor on `train`, then select and fit the model on `train` and `val`.

    Args:
        train: Training rows.
        val: Validation rows (early stopping; pooled with `train` under cross-validation).
        contract: The table's data contract.
        config: The run's configuration; resolved here if it is not yet.
        on_epoch: Called at every validation check of every network candidate.
    """
    config = config.resolved()
    scaler, scale_target = config.features.scaler, config.features.scale_target
    assert scaler is not None
    assert scale_target is not None
    preprocessor = Preprocessor(contract=contract, scaler=scaler, scale_target=scale_target)
    selection = select_model(fitted_views(preprocessor, train, val), config.model, config.train, on_epoch=on_epoch)
    return FittedModel(preprocessor=preprocessor, selection=selection)
