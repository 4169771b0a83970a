"""Sections of the HTML report that explain a version: importance, prediction intervals, captioned plots.

Each takes the package's metadata (package.json) and returns HTML, empty where a package
written before the section existed holds nothing for it.
"""

from __future__ import annotations

from html import escape
from typing import Any

from regress_core.evaluation.intervals import METHOD_WORDS
from regress_core.evaluation.metrics import MAX_CATEGORIES

PLOT_CAPTIONS = {
    "predicted_vs_actual": "Predicted against actual on the test rows; a point on the line is an exact prediction.",
    "residuals": (
        "Residuals (actual - predicted) against the prediction, and their distribution: a funnel or a curve "
        "shows where the error depends on the size of the prediction."
    ),
    "loss_curves": "Training curve: training loss and validation MSE per epoch, in scaled target units.",
}


def _figure(name: str, caption: str) -> str:
    return (
        f'<figure><img src="plots/{escape(name)}.png" alt="{escape(name)}">'
        f"<figcaption>{escape(caption)}</figcaption></figure>"
    )


def describe_importance(importance: list[dict[str, Any]]) -> str:
    """One line: what the permutation importance rows measure, on how many rows and shuffles."""
    if not importance:
        return "Permutation importance: no features"
    first = importance[0]
    return (
        f"Permutation importance on {first['rows']} test rows, {first['repeats']} repeats: "
        "increase of test RMSE (target units) when a feature's values are shuffled, mean and spread"
    )


def importance_rows(importance: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The importance rows for a table, most important first, numbers rounded to 4 decimals."""
    return [
        {
            "feature": row["feature"],
            "RMSE increase": round(float(row["rmse_increase"]), 4),
            "std": round(float(row["std"]), 4),
            "repeats": row["repeats"],
            "rows used": row["rows"],
        }
        for row in importance
    ]


def importance_section(metadata: dict[str, Any]) -> str:
    """The permutation importance table and chart; empty for a package without importance."""
    rows = metadata.get("importance") or []
    if not rows:
        return ""
    body = "".join(
        f"<tr><td>{escape(str(row['feature']))}</td><td>{row['rmse_increase']:.4f}</td>"
        f"<td>± {row['std']:.4f}</td><td>{row['repeats']}</td><td>{row['rows']}</td></tr>"
        for row in rows
    )
    header = "<tr><th>feature</th><th>RMSE increase</th><th>± std</th><th>repeats</th><th>rows used</th></tr>"
    return (
        "<h2>What drives the predictions</h2>"
        f"<p>Permutation importance on {rows[0]['rows']} test rows: each feature's values are shuffled across the "
        f"rows, {rows[0]['repeats']} times, and the test RMSE grows by this much (target units; mean ± spread over "
        "the shuffles). A feature near zero is one the model does not rely on.</p>"
        f"<table>{header}{body}</table>"
        + _figure("importance", "Permutation importance, most important first; the bars' whiskers are the spread.")
    )


def _percent(value: float) -> str:
    return f"{100 * value:.1f}%"


def intervals_section(metadata: dict[str, Any]) -> str:
    """The target level, the method in words, and coverage and mean width on the test rows; empty without intervals."""
    intervals = metadata.get("intervals")
    if not intervals:
        return ""
    level, test = float(intervals["level"]), intervals.get("test", {})
    method = METHOD_WORDS.get(intervals["method"], intervals["method"])
    calibration = f"calibrated on {intervals.get('calibration_rows')} validation rows"
    if test.get("coverage") is None:
        measured = (
            f"<p>Not measured on the test rows: the validation rows are too few for a {_percent(level)} interval.</p>"
        )
    else:
        measured = (
            "<table><tr><th>target coverage</th><th>test coverage</th><th>mean width (target units)</th>"
            f"<th>test rows</th></tr><tr><td>{_percent(level)}</td><td>{_percent(float(test['coverage']))}</td>"
            f"<td>{float(test['mean_width']):.4f}</td><td>{test.get('rows')}</td></tr></table>"
        )
    return (
        f"<h2>Prediction intervals</h2><p>Target level {_percent(level)}: {escape(str(method))}; "
        f"{escape(calibration)}. Coverage is the share of test rows whose actual value lies inside its interval.</p>"
        f"{measured}"
    )


def plots_section(metadata: dict[str, Any]) -> str:
    """The plots of the test predictions and of training, each with its caption."""
    figures = [_figure(name, PLOT_CAPTIONS[name]) for name in ("predicted_vs_actual", "residuals")]
    by_category = metadata.get("error_by_category")
    if by_category and by_category.get("kind") == "numeric":
        caption = (
            f"Test RMSE along {by_category['feature']}, the most important feature (the table has no categorical "
            "feature), in tenths of its test values; the dashed line is the RMSE on all test rows."
        )
        figures.append(_figure("error_by_category", caption))
    elif by_category:
        pooled = (
            f" (the {MAX_CATEGORIES} categories with the most rows; the rest pooled as other)"
            if len(by_category["rows"]) > MAX_CATEGORIES
            else ""
        )
        caption = (
            f"Test RMSE for each category of {by_category['feature']}, the most important categorical feature"
            f"{pooled}; the dashed line is the RMSE on all test rows."
        )
        figures.append(_figure("error_by_category", caption))
    elif "importance" in metadata:
        figures.append("<p>No error by category: the table has no categorical feature.</p>")
    figures.append(_figure("loss_curves", PLOT_CAPTIONS["loss_curves"]))
    return "<h2>Plots</h2>" + "".join(figures)
