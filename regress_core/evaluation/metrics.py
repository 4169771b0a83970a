"""Test-set metrics in target units, and the baselines they are read against."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from regress_core.data.contract import DataContract, normalize_frame

METRIC_NAMES = ("mse", "rmse", "mae", "r2")
MAX_CATEGORIES = 15  # categories shown by `error_by_category`; the rest are pooled


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """MSE, RMSE, MAE and R2 of predictions, in target units."""
    # scikit-learn is imported where it is used: the command line reads METRIC_NAMES on every start.
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    mse = float(mean_squared_error(y_true, y_pred))
    return {
        "mse": mse,
        "rmse": math.sqrt(mse),
        "mae": float(mean_absolute_error(y_true, y_pred)),
        "r2": float(r2_score(y_true, y_pred)),
    }


def baseline_metrics(train: pd.DataFrame, test: pd.DataFrame, *, contract: DataContract) -> dict[str, dict[str, float]]:
    """Metrics of a mean predictor and of scikit-learn's LinearRegression fitted on `train`.

    LinearRegression sees the raw numeric features (blanks imputed with the training
    median), one-hot categories and the parts of dates (year, month, day of week, day of
    year, hour, days since), so on an all-numeric table it is the plain textbook fit.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    from regress_core.data.date_parts import DateParts

    target = contract.target
    y_test = test[target].to_numpy(dtype="float64")
    mean_prediction = np.full(len(test), float(train[target].mean()))
    branches = []
    if contract.names_of("numeric"):
        branches.append(("numeric", SimpleImputer(strategy="median"), contract.names_of("numeric")))
    if contract.names_of("categorical"):
        encoder = make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore"))
        branches.append(("categorical", encoder, contract.names_of("categorical")))
    if contract.names_of("datetime"):
        parts = make_pipeline(DateParts(), SimpleImputer(strategy="median"))
        branches.append(("datetime", parts, contract.names_of("datetime")))
    linear = make_pipeline(ColumnTransformer(branches), LinearRegression())
    features = contract.feature_names
    linear.fit(normalize_frame(train[features], contract), train[target].to_numpy(dtype="float64"))
    return {
        "mean": regression_metrics(y_test, mean_prediction),
        "linear_regression": regression_metrics(y_test, linear.predict(normalize_frame(test[features], contract))),
    }


def error_by_category(
    categories: pd.Series, y_true: np.ndarray, y_pred: np.ndarray, *, max_categories: int = MAX_CATEGORIES
) -> list[dict[str, Any]]:
    """RMSE and rows per category, the category with the most rows first.

    Categories past the `max_categories` largest are pooled into one last row,
    "other (N categories)"; blank values count as the category "(blank)".

    Returns:
        Rows of `category`, `rows` and `rmse` (target units).
    """
    if max_categories < 1:
        raise ValueError(f"max_categories must be positive, got {max_categories=}")
    labels = categories.astype("object").where(categories.notna(), "(blank)").astype(str).to_numpy()
    squared = (np.asarray(y_true, dtype="float64") - np.asarray(y_pred, dtype="float64")) ** 2
    names, counts = np.unique(labels, return_counts=True)
    order = sorted(range(len(names)), key=lambda i: (-counts[i], names[i]))
    kept = [str(names[i]) for i in order[:max_categories]]
    groups = [(name, labels == name) for name in kept]
    if len(names) > max_categories:
        groups.append((f"other ({len(names) - max_categories} categories)", ~np.isin(labels, kept)))
    return [
        {"category": name, "rows": int(mask.sum()), "rmse": math.sqrt(float(squared[mask].mean()))}
        for name, mask in groups
    ]


def error_by_bin(values: pd.Series, y_true: np.ndarray, y_pred: np.ndarray, *, bins: int = 10) -> list[dict[str, Any]]:
    """RMSE and rows per quantile bin of a numeric feature, lowest values first (blanks last, as "(blank)").

    Returns:
        Rows of `category` (the bin's range, "[low, high]"), `rows` and `rmse` (target units).
    """
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64")
    squared = (np.asarray(y_true, dtype="float64") - np.asarray(y_pred, dtype="float64")) ** 2
    present = ~np.isnan(numbers)
    edges = np.unique(np.quantile(numbers[present], np.linspace(0, 1, bins + 1))) if present.any() else np.empty(0)
    # Bin i holds values in [edges[i], edges[i + 1]), the last also its upper edge; one value: one bin.
    codes = np.clip(np.searchsorted(edges, numbers, side="right") - 1, 0, max(len(edges) - 2, 0))
    rows = []
    for code in np.unique(codes[present]):
        mask = present & (codes == code)
        low, high = numbers[mask].min(), numbers[mask].max()
        rows.append({"category": f"[{low:.4g}, {high:.4g}]", "rows": int(mask.sum()), "rmse": _rmse(squared[mask])})
    if not present.all():
        rows.append({"category": "(blank)", "rows": int((~present).sum()), "rmse": _rmse(squared[~present])})
    return rows


def _rmse(squared: np.ndarray) -> float:
    return math.sqrt(float(squared.mean()))
