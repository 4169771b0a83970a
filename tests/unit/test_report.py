"""The HTML report: importance, prediction intervals and the captioned plots, from a package's metadata."""

import re

from regress_core.evaluation.report import render_report, sized_budget
from regress_core.evaluation.report_sections import describe_importance, importance_rows

METRICS = {"mse": 0.25, "rmse": 0.5, "mae": 0.4, "r2": 0.8}
IMPORTANCE = [
    {"feature": "MedInc", "rmse_increase": 0.4123, "std": 0.0121, "repeats": 5, "rows": 1000},
    {"feature": "<b>odd</b>", "rmse_increase": -0.0004, "std": 0.0002, "repeats": 5, "rows": 1000},
]
INTERVALS = {
    "method": "normalized",
    "level": 0.9,
    "calibration_rows": 3302,
    "quantile": 1.7,
    "test": {"coverage": 0.8964, "mean_width": 1.2345, "rows": 4128},
}
BY_CATEGORY = {
    "feature": "ocean",
    "rows": [{"category": "inland", "rows": 1300, "rmse": 0.6}, {"category": "near bay", "rows": 400, "rmse": 0.4}],
}


def images(html: str) -> list[str]:
    return re.findall(r'<img src="plots/([a-z_]+)\.png"', html)


def test_the_report_shows_importance_intervals_and_the_four_plots():
    html = render_report(
        {"metrics": METRICS, "importance": IMPORTANCE, "intervals": INTERVALS, "error_by_category": BY_CATEGORY}
    )
    assert "<h2>What drives the predictions</h2><p>Permutation importance on 1000 test rows" in html
    assert "<tr><td>MedInc</td><td>0.4123</td><td>± 0.0121</td><td>5</td><td>1000</td></tr>" in html
    assert "<td>&lt;b&gt;odd&lt;/b&gt;</td><td>-0.0004</td>" in html
    assert "<h2>Prediction intervals</h2><p>Target level 90.0%: normalized split conformal" in html
    assert "calibrated on 3302 validation rows" in html
    assert "<td>90.0%</td><td>89.6%</td><td>1.2345</td><td>4128</td>" in html
    assert images(html) == ["importance", "predicted_vs_actual", "residuals", "error_by_category", "loss_curves"]
    assert "Test RMSE for each category of ocean, the most important categorical feature;" in html
    assert html.count("<figcaption>") == 5


def test_an_all_numeric_table_shows_the_error_along_its_most_important_feature():
    by_bin = {"feature": "MedInc", "kind": "numeric", "rows": [{"category": "[0.5, 2.1]", "rows": 10, "rmse": 0.3}]}
    html = render_report({"metrics": METRICS, "importance": IMPORTANCE, "error_by_category": by_bin})
    assert "Test RMSE along MedInc, the most important feature (the table has no categorical feature)" in html
    assert images(html) == ["importance", "predicted_vs_actual", "residuals", "error_by_category", "loss_curves"]


def test_a_table_without_categories_says_so_and_intervals_too_few_rows_are_not_measured():
    intervals = {**INTERVALS, "method": "absolute", "test": {"coverage": None, "mean_width": None, "rows": 12}}
    html = render_report({"metrics": METRICS, "importance": IMPORTANCE, "intervals": intervals})
    assert "split conformal on the validation rows: the same width for every prediction" in html
    assert "Not measured on the test rows: the validation rows are too few for a 90.0% interval." in html
    assert "<p>No error by category: the table has no categorical feature.</p>" in html
    assert images(html) == ["importance", "predicted_vs_actual", "residuals", "loss_curves"]


def test_a_package_from_before_importance_and_intervals_keeps_its_three_plots():
    html = render_report({"metrics": METRICS})
    assert "What drives the predictions" not in html
    assert "Prediction intervals" not in html
    assert "No error by category" not in html
    assert images(html) == ["predicted_vs_actual", "residuals", "loss_curves"]


def test_the_importance_artifact_rows_and_description():
    assert importance_rows(IMPORTANCE)[0] == {
        "feature": "MedInc",
        "RMSE increase": 0.4123,
        "std": 0.0121,
        "repeats": 5,
        "rows used": 1000,
    }
    assert describe_importance(IMPORTANCE).startswith("Permutation importance on 1000 test rows, 5 repeats: ")


def test_the_sizing_line_appears_only_where_a_network_was_trained():
    budget = {"batch_size": 32, "max_epochs": 100, "patience": 10, "hidden_sizes": [128, 128], "ensemble_size": 8}
    linear_only = {"scheme": "validation rows", "chosen": "linear", "budget": budget}
    linear_only["candidates"] = [{"name": "linear", "val_rmse": 1.0, "seconds": 0.1}]
    networks = {
        **linear_only,
        "candidates": [*linear_only["candidates"], {"name": "mlp", "val_rmse": 2.0, "seconds": 3}],
    }
    assert sized_budget(linear_only) is None
    assert sized_budget(networks) == budget
    assert "Sized to the table" not in render_report({"metrics": METRICS, "training": {"selection": linear_only}})
    assert "Sized to the table: batch 32, up to 100 epochs" in render_report(
        {"metrics": METRICS, "training": {"selection": networks}}
    )


def test_the_report_says_how_many_cpu_threads_trained_the_model():
    busy = {"device": "cpu", "threads": 1, "threads_reason": "1 of 2 cores busy with other work"}
    one = render_report({"metrics": METRICS, "training": busy})
    assert "1 CPU thread: 1 of 2 cores busy with other work on cpu" in one
    idle = {"device": "cpu", "threads": 2, "threads_reason": "every core idle"}
    assert "2 CPU threads: every core idle on cpu" in render_report({"metrics": METRICS, "training": idle})
    assert "2 CPU threads on cpu" in render_report({"metrics": METRICS, "training": {"device": "cpu", "threads": 2}})
    gpu = render_report({"metrics": METRICS, "training": {"device": "cuda", "threads": 2}})
    assert "<td>device</td><td>cuda</td>" in gpu


def test_the_report_names_group_keys_and_says_none_where_there_are_none():
    keyed = render_report({"metrics": METRICS, "group_keys": ["nr", "id<1>"]})
    assert "<td>group keys (also target-encoded)</td><td>nr, id&lt;1&gt;</td>" in keyed
    assert "<td>group keys (also target-encoded)</td><td>none</td>" in render_report({"metrics": METRICS})
