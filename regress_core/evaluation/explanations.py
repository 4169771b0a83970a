"""What drives a model's test predictions: permutation importance and the error by category."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from regress_core.data.contract import DataContract
from regress_core.evaluation.importance import most_important_of, permutation_importance
from regress_core.evaluation.metrics import MAX_CATEGORIES, error_by_bin, error_by_category, regression_metrics
from regress_core.evaluation.plots import plot_error_by_category, plot_importance


@dataclass(frozen=True)
class Explanations:
    """Permutation importance rows, the error by category (empty without a categorical feature), their plots."""

    importance: list[dict[str, Any]]
    category_errors: dict[str, Any]
    plots: dict[str, Path] = field(default_factory=dict)


def explain_predictions(
    test_df: pd.DataFrame,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    predict: Callable[[pd.DataFrame], np.ndarray],
    contract: DataContract,
    *,
    out_dir: Path,
) -> Explanations:
    """Permutation importance of every feature on the test rows, and the test error by category.

    The categories are those of the most important categorical feature (the
    `MAX_CATEGORIES` with the most rows, the rest pooled); on a table without a categorical
    feature, tenths of the most important numeric feature's test values stand in for them.

    Args:
        test_df: The test rows, raw, with every feature column.
        y_true: Their actual target values, shape (len(test_df),).
        y_pred: The model's predictions for them in target units, shape (len(test_df),).
        predict: Predictions in target units from raw rows (the package's prediction path).
        contract: The data contract: the features and their kinds.
        out_dir: Where the plots are written.

    Returns:
        `importance` (see `permutation_importance`), `category_errors` ({"feature": name,
        "kind": "categorical" or "numeric", "rows": `error_by_category` or `error_by_bin` rows}, empty
        without features) and the plots by name
        ("importance", "error_by_category").
    """
    explained = explain(test_df, y_true, y_pred, predict, contract)
    overall = regression_metrics(y_true, y_pred)["rmse"]
    return replace(explained, plots=plot_explanations(explained, overall_rmse=overall, out_dir=out_dir))


def explain(
    test_df: pd.DataFrame,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    predict: Callable[[pd.DataFrame], np.ndarray],
    contract: DataContract,
) -> Explanations:
    """`explain_predictions` without its plots (`plot_explanations` draws them)."""
    importance = permutation_importance(test_df, y_true, predict, contract.feature_names)
    feature = most_important_of(importance, contract.names_of("categorical"))
    if feature is not None:
        kind, rows = "categorical", error_by_category(test_df[feature], y_true, y_pred, max_categories=MAX_CATEGORIES)
    else:  # an all-numeric table: the error along the most important feature's range, in tenths
        feature = most_important_of(importance, contract.names_of("numeric"))
        if feature is None:
            return Explanations(importance, {})
        kind, rows = "numeric", error_by_bin(test_df[feature], y_true, y_pred)
    return Explanations(importance, {"feature": feature, "kind": kind, "rows": rows})


def plot_explanations(explained: Explanations, *, overall_rmse: float, out_dir: Path) -> dict[str, Path]:
    """The importance plot, and the error by category where there is one to draw."""
    plots = {"importance": plot_importance(explained.importance, out_dir=out_dir)}
    errors = explained.category_errors
    if errors:
        plots["error_by_category"] = plot_error_by_category(
            errors["rows"], errors["feature"], overall_rmse=overall_rmse, out_dir=out_dir
        )
    return plots
