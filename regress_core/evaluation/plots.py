"""Plots of a model's test predictions, its errors by category, feature importance and training curves, as PNG files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from regress_core.fileio import atomic_write


def _save_figure(figure: Any, path: Path) -> Path:
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


def plot_test_and_training(
    y_true: np.ndarray, y_pred: np.ndarray, history: list[dict[str, Any]], *, out_dir: Path
) -> dict[str, Path]:
    """`plot_predictions` and `plot_loss_curves` in one call: the paths by name."""
    return {
        **plot_predictions(y_true, y_pred, out_dir=out_dir),
        "loss_curves": plot_loss_curves(history, out_dir=out_dir),
    }


def plot_loss_curves(history: list[dict[str, Any]], *, out_dir: Path) -> Path:
    """Write training and validation loss per validation check as a PNG file.

    A model fitted in closed form (ridge) has no epochs: the figure says so.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    if not history:
        figure, axis = plt.subplots(figsize=(6, 4))
        axis.text(0.5, 0.5, "fitted in closed form: no training epochs", ha="center", va="center")
        axis.set(title="Loss curves", xticks=[], yticks=[])
        return _save_figure(figure, out_dir / "loss_curves.png")
    epochs = [row["epoch"] for row in history]
    figure, axis = plt.subplots(figsize=(6, 4))
    axis.plot(epochs, [row["train_loss"] for row in history], label="train")
    axis.plot(epochs, [row["val_loss"] for row in history], label="validation (MSE)")
    axis.set(xlabel="epoch", ylabel="loss (scaled target)", yscale="log", title="Loss curves")
    axis.legend()
    return _save_figure(figure, out_dir / "loss_curves.png")


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_importance(importance: list[dict[str, Any]], *, out_dir: Path, top: int = 20) -> Path:
    """Write the permutation importance of the `top` features as bars with their spread as error bars."""
    plt = _pyplot()
    out_dir.mkdir(parents=True, exist_ok=True)
    shown = importance[:top][::-1]  # barh draws bottom-up: the most important ends on top
    figure, axis = plt.subplots(figsize=(6, 1.2 + 0.3 * max(len(shown), 1)))
    axis.barh(
        [row["feature"] for row in shown],
        [row["rmse_increase"] for row in shown],
        xerr=[row["std"] for row in shown],
        capsize=3,
    )
    axis.axvline(0, color="black", linewidth=1)
    more = f", top {top} of {len(importance)}" if len(importance) > top else ""
    axis.set(xlabel="test RMSE increase when shuffled (target units)", title=f"Permutation importance{more}")
    return _save_figure(figure, out_dir / "importance.png")


def plot_error_by_category(rows: list[dict[str, Any]], feature: str, *, overall_rmse: float, out_dir: Path) -> Path:
    """Write the test RMSE per category of `feature` (rows from `metrics.error_by_category`), with row counts."""
    plt = _pyplot()
    out_dir.mkdir(parents=True, exist_ok=True)
    shown = rows[::-1]
    figure, axis = plt.subplots(figsize=(6, 1.2 + 0.3 * len(shown)))
    bars = axis.barh([row["category"] for row in shown], [row["rmse"] for row in shown])
    axis.bar_label(bars, labels=[f"{row['rows']} rows" for row in shown], padding=3, fontsize=8)
    axis.axvline(overall_rmse, color="black", linewidth=1, linestyle="--", label="all test rows")
    axis.margins(x=0.2)
    axis.set(xlabel="RMSE (target units)", title=f"Test error by {feature}")
    axis.legend(loc="lower right")
    return _save_figure(figure, out_dir / "error_by_category.png")
