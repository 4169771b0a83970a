"""The HTML report of a model version: metrics next to baselines, intervals, importance, training, data, plots."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from regress_core.evaluation.report_sections import importance_section, intervals_section, plots_section

STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem;color:#222}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.3rem .7rem;text-align:right}
th:first-child,td:first-child{text-align:left}img{max-width:32rem}
figure{display:inline-block;vertical-align:top;max-width:32rem;margin:.5rem}figcaption{font-size:.9rem;color:#555}pre{background:#f6f6f6;padding:1rem}
"""


def metrics_rows(metadata: dict[str, Any]) -> list[tuple[str, dict[str, float]]]:
    """The model's test metrics followed by each baseline's, as (name, metrics) rows."""
    rows = [("this model", metadata["metrics"])]
    rows += [(name.replace("_", " "), values) for name, values in metadata.get("baselines", {}).items()]
    return rows


def selection_rows(selection: dict[str, Any]) -> list[dict[str, Any]]:
    """The candidates a run compared, best validation score first, each with its score and time."""
    rows = [
        {
            "candidate": row["name"],
            "validation RMSE": round(float(row["val_rmse"]), 4),
            "seconds": round(float(row["seconds"]), 1),
            "chosen": row["name"] == selection.get("chosen"),
        }
        for row in selection.get("candidates", [])
    ]
    return sorted(rows, key=lambda row: row["validation RMSE"])


def describe_selection(selection: dict[str, Any]) -> str:
    """One line: how the candidates were compared, their scores and the winner."""
    scores = ", ".join(f"{row['candidate']} {row['validation RMSE']:.4f}" for row in selection_rows(selection))
    return f"{selection.get('chosen')} chosen on {selection.get('scheme')} (validation RMSE: {scores})"


def describe_threads(training: dict[str, Any]) -> str:
    """How many CPU threads trained the model, and why; empty on a GPU or where no count is recorded."""
    threads = training.get("threads")
    if threads is None or training.get("device") != "cpu":
        return ""
    counted = "1 CPU thread" if threads == 1 else f"{threads} CPU threads"
    reason = training.get("threads_reason")
    return f"{counted}: {reason}" if reason else counted


def sized_budget(selection: dict[str, Any]) -> dict[str, Any] | None:
    """The budget the networks among the candidates were sized to; None when only a linear model was fitted."""
    if all(row.get("name") == "linear" for row in selection.get("candidates", [])):
        return None  # a closed-form fit has no epochs, layers or members
    return dict(selection.get("budget", {}))


def describe_budget(budget: dict[str, Any]) -> str:
    """One line: what was sized to the table."""
    hidden = "-".join(str(size) for size in budget.get("hidden_sizes", [])) or "none"
    return (
        f"batch {budget.get('batch_size')}, up to {budget.get('max_epochs')} epochs "
        f"(patience {budget.get('patience')}), "
        f"hidden {hidden}, {budget.get('ensemble_size')} members, {budget.get('n_bins')} bins x "
        f"{budget.get('embedding_dim')} for {budget.get('embedded_inputs')} of {budget.get('inputs')} inputs"
    )


def _selection_section(training: dict[str, Any]) -> str:
    selection = training.get("selection")
    if not selection:
        return ""
    header = "<tr><th>candidate</th><th>validation RMSE</th><th>seconds</th><th>chosen</th></tr>"
    body = "".join(
        f"<tr><td>{escape(row['candidate'])}</td><td>{row['validation RMSE']:.4f}</td><td>{row['seconds']:.1f}</td>"
        f"<td>{'yes' if row['chosen'] else ''}</td></tr>"
        for row in selection_rows(selection)
    )
    budget = sized_budget(selection)
    sized = f"<p>Sized to the table: {escape(describe_budget(budget))}</p>" if budget is not None else ""
    return (
        f"<h2>Model selection</h2><p>{escape(str(selection.get('scheme')))}; the lowest validation RMSE wins "
        f"(target units; test rows are never used to choose).</p><table>{header}{body}</table>"
        f"{sized}"
    )


def _metrics_table(metadata: dict[str, Any]) -> str:
    header = "<tr><th>model</th><th>MSE</th><th>RMSE</th><th>MAE</th><th>R2</th></tr>"
    body = "".join(
        f"<tr><td>{escape(name)}</td>"
        + "".join(f"<td>{values[key]:.4f}</td>" for key in ("mse", "rmse", "mae", "r2"))
        + "</tr>"
        for name, values in metrics_rows(metadata)
    )
    return f"<table>{header}{body}</table>"


def _window_section(window: dict[str, Any] | None) -> str:
    """The time window a version was trained on, with the rows of each day and the rows left out."""
    if not window:
        return ""
    days = "".join(f"<tr><td>{escape(day)}</td><td>{rows}</td></tr>" for day, rows in window.get("days", {}).items())
    notes = "".join(f"<li>{escape(text)}</li>" for text in window.get("warnings", []))
    return (
        f"<h2>Time window</h2><p>{escape(window['window']['text'])} on column "
        f"<code>{escape(window['time_column'])}</code>, as of {escape(window['as_of'])}: {window['rows']} rows; "
        f"{window.get('no_time_rows', 0)} without a time and {window.get('future_rows', 0)} at or after as_of "
        f"left out.</p>{f'<ul>{notes}</ul>' if notes else ''}"
        f"<table><tr><th>day</th><th>rows</th></tr>{days}</table>"
    )


def render_report(metadata: dict[str, Any]) -> str:
    """Render a self-contained HTML page for a package folder (plots referenced relatively)."""
    training = metadata.get("training", {})
    data = metadata.get("data", {})
    facts = {
        "target": metadata.get("target"),
        "features": ", ".join(metadata.get("features", [])),
        "group keys (also target-encoded)": ", ".join(metadata.get("group_keys") or []) or "none",
        "source": data.get("source"),
        "as of": metadata.get("as_of"),
        "rows (train / validation / test)": " / ".join(str(v) for v in data.get("split_rows", {}).values()),
        "split": metadata.get("config", {}).get("split", {}).get("strategy") or "random",
        "raw data SHA-256": data.get("raw_sha256"),
        "epochs (best)": f"{training.get('epochs')} ({training.get('best_epoch')})",
        "training seconds": training.get("seconds"),
        "device": " on ".join(filter(None, [describe_threads(training), str(training.get("device"))])),
        "training precision": training.get("precision", "float32"),
        "created": metadata.get("created_at"),
        "code version": metadata.get("code_version"),
    }
    fact_rows = "".join(f"<tr><td>{escape(k)}</td><td>{escape(str(v))}</td></tr>" for k, v in facts.items())
    config = escape(json.dumps(metadata.get("config", {}), indent=2))
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>regress model report</title>"
        f"<style>{STYLE}</style></head>"
        f"<body><h1>regress model report</h1><h2>Test metrics (target units)</h2>{_metrics_table(metadata)}"
        f"{intervals_section(metadata)}{importance_section(metadata)}{_selection_section(training)}"
        f"<h2>Run</h2><table>{fact_rows}</table>{_window_section(data.get('window'))}{plots_section(metadata)}<h2>Configuration</h2><pre>{config}</pre></body></html>"
    )
