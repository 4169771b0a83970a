"""The HTML report of a model version: metrics next to baselines, training, data, plots."""

from __future__ import annotations

import json
from html import escape
from typing import Any

STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem;color:#222}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.3rem .7rem;text-align:right}
th:first-child,td:first-child{text-align:left}img{max-width:32rem;margin:.5rem}pre{background:#f6f6f6;padding:1rem}
"""


def metrics_rows(metadata: dict[str, Any]) -> list[tuple[str, dict[str, float]]]:
    """The model's test metrics followed by each baseline's, as (name, metrics) rows."""
    rows = [("this model", metadata["metrics"])]
    rows += [(name.replace("_", " "), values) for name, values in metadata.get("baselines", {}).items()]
    return rows


def _metrics_table(metadata: dict[str, Any]) -> str:
    header = "<tr><th>model</th><th>MSE</th><th>RMSE</th><th>MAE</th><th>R2</th></tr>"
    body = "".join(
        f"<tr><td>{escape(name)}</td>"
        + "".join(f"<td>{values[key]:.4f}</td>" for key in ("mse", "rmse", "mae", "r2"))
        + "</tr>"
        for name, values in metrics_rows(metadata)
    )
    return f"<table>{header}{body}</table>"


def render_report(metadata: dict[str, Any]) -> str:
    """Render a self-contained HTML page for a package folder (plots referenced relatively)."""
    training = metadata.get("training", {})
    data = metadata.get("data", {})
    plots = "".join(
        f'<img src="plots/{name}.png" alt="{escape(name)}">'
        for name in ("predicted_vs_actual", "residuals", "loss_curves")
    )
    facts = {
        "target": metadata.get("target"),
        "features": ", ".join(metadata.get("features", [])),
        "source": data.get("source"),
        "rows (train / validation / test)": " / ".join(str(v) for v in data.get("split_rows", {}).values()),
        "raw data SHA-256": data.get("raw_sha256"),
        "epochs (best)": f"{training.get('epochs')} ({training.get('best_epoch')})",
        "training seconds": training.get("seconds"),
        "device": training.get("device"),
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
        f"<h2>Run</h2><table>{fact_rows}</table><h2>Plots</h2>{plots}<h2>Configuration</h2><pre>{config}</pre></body></html>"
    )
