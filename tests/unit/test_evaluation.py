import math

import numpy as np
import pytest
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

from regress_core.data.contract import infer_contract
from regress_core.evaluation.metrics import baseline_metrics, regression_metrics
from regress_core.evaluation.plots import plot_loss_curves, plot_predictions


def test_metrics_agree_with_scikit_learn():
    rng = np.random.default_rng(0)
    y, p = rng.normal(size=50), rng.normal(size=50)
    metrics = regression_metrics(y, p)
    assert metrics["mse"] == pytest.approx(mean_squared_error(y, p))
    assert metrics["rmse"] == pytest.approx(math.sqrt(mean_squared_error(y, p)))
    assert metrics["mae"] == pytest.approx(mean_absolute_error(y, p))
    assert metrics["r2"] == pytest.approx(r2_score(y, p))


def test_perfect_predictions():
    y = np.arange(5.0)
    assert regression_metrics(y, y) == {"mse": 0.0, "rmse": 0.0, "mae": 0.0, "r2": 1.0}


def test_baselines_mean_and_linear_regression(table):
    baselines = baseline_metrics(table.iloc[:90], table.iloc[90:], contract=infer_contract(table, target="y"))
    assert baselines["mean"]["r2"] < 0.05
    assert baselines["linear_regression"]["r2"] > 0.95


def test_plots_are_png_files(tmp_path):
    y = np.linspace(0, 1, 20)
    paths = plot_predictions(y, y + 0.1, out_dir=tmp_path)
    paths["loss"] = plot_loss_curves(
        [{"epoch": 1, "train_loss": 1.0, "val_loss": 0.9}, {"epoch": 2, "train_loss": 0.5, "val_loss": 0.6}],
        out_dir=tmp_path,
    )
    for path in paths.values():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
