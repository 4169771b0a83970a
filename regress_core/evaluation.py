"""Test-set metrics in target units, the baselines they are read against, and plots."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

from regress_core.contract import DataContract, normalize_frame
from regress_core.fileio import atomic_write

METRIC_NAMES = ("mse", "rmse", "mae", "r2")


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """MSE, RMSE, MAE and R2 of predictions, in target units."""
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
    median) and one-hot categories, so on an all-numeric table it is the plain textbook fit.
    """
    target = contract.target
    y_test = test[target].to_numpy(dtype="float64")
    mean_prediction = np.full(len(test), float(train[target].mean()))
    branches = []
    if contract.names_of("numeric"):
        branches.append(("numeric", SimpleImputer(strategy="median"), contract.names_of("numeric")))
    if contract.names_of("categorical"):
        encoder = make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore"))
        branches.append(("categorical", encoder, contract.names_of("categorical")))
    linear = make_pipeline(ColumnTransformer(branches), LinearRegression())
    features = contract.feature_names
    linear.fit(normalize_frame(train[features], contract), train[target].to_numpy(dtype="float64"))
    return {
        "mean": regression_metrics(y_test, mean_prediction),
        "linear_regression": regression_metrics(y_test, linear.predict(normalize_frame(test[features], contract))),
    }


def _save_figure(figure: object, path: Path) -> Path:
    import matplotlib.pyplot as plt

    atomic_write(path, lambda tmp: figure.savefig(tmp, format="png", dpi=110, bbox_inches="tight"))
    plt.close(figure)
    return path


def plot_predictions(y_true: np.ndarray, y_pred: np.ndarray, *, out_dir: Path) -> dict[str, Path]:
    """Write predicted-vs-actual and residual plots as PNG files."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    low, high = float(min(y_true.min(), y_pred.min())), float(max(y_true.max(), y_pred.max()))
    figure, axis = plt.subplots(figsize=(5, 5))
    axis.scatter(y_true, y_pred, s=4, alpha=0.4)
    axis.plot([low, high], [low, high], color="black", linewidth=1)
    axis.set(xlabel="actual", ylabel="predicted", title="Predicted vs actual (test)")
    paths = {"predicted_vs_actual": _save_figure(figure, out_dir / "predicted_vs_actual.png")}
    residuals = y_true - y_pred
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.scatter(y_pred, residuals, s=4, alpha=0.4)
    left.axhline(0, color="black", linewidth=1)
    left.set(xlabel="predicted", ylabel="actual - predicted", title="Residuals (test)")
    right.hist(residuals, bins=50 if np.ptp(residuals) > 1e-9 else 1)
    right.set(xlabel="actual - predicted", ylabel="rows", title="Residual distribution")
    paths["residuals"] = _save_figure(figure, out_dir / "residuals.png")
    return paths


def plot_loss_curves(history: list[dict[str, float]], *, out_dir: Path) -> Path:
    """Write training and validation loss per epoch as a PNG file."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    epochs = [row["epoch"] for row in history]
    figure, axis = plt.subplots(figsize=(6, 4))
    axis.plot(epochs, [row["train_loss"] for row in history], label="train")
    axis.plot(epochs, [row["val_loss"] for row in history], label="validation (MSE)")
    axis.set(xlabel="epoch", ylabel="loss (scaled target)", yscale="log", title="Loss curves")
    axis.legend()
    return _save_figure(figure, out_dir / "loss_curves.png")
