"""A model version's report as Markdown for the orchestrator's UI, and the address of its HTML report.

The Markdown holds the model reference, the test metrics next to the baselines and every plot of
the package as an inline `data:image/png;base64,...` image, so the UI shows the plots without any
server. The HTML report opens from the report server that `regress ui start` runs (URL layout
`models/<model>/<version>/report.html`) or, without one, from its file or object-storage address.
"""

from __future__ import annotations

import base64
import math
import re
from pathlib import Path
from typing import Any

from regress_core.evaluation.report import metrics_rows

# The plots every package has come first, in this order; any others follow by name.
PLOT_ORDER = ("predicted_vs_actual", "residuals", "loss_curves")
PLOT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
# Set by `regress ui start` for its worker: the base URL of the server of the workspace's reports.
REPORT_URL_ENV = "REGRESS_REPORT_URL"
METRIC_LABELS = {"mse": "MSE", "rmse": "RMSE", "mae": "MAE", "r2": "R2"}


def order_plots(names: list[str]) -> list[str]:
    """Plot names in a stable order: the standard plots first, then the rest alphabetically."""
    known = [name for name in PLOT_ORDER if name in names]
    return known + sorted(name for name in names if name not in PLOT_ORDER)


def read_plot_files(files: dict[str, str | Path]) -> dict[str, bytes]:
    """The bytes of PNG files given by plot name, in `order_plots` order."""
    return {name: Path(files[name]).read_bytes() for name in order_plots(list(files))}


def read_plots(plots_dir: Path) -> dict[str, bytes]:
    """Every PNG in a package's `plots/` folder, as name (without `.png`) -> bytes, in `order_plots` order."""
    if not plots_dir.is_dir():
        return {}
    files = {path.stem: path for path in plots_dir.glob("*.png") if path.is_file() and PLOT_NAME.match(path.stem)}
    return read_plot_files(dict(files))


def report_path(model: str, version: str) -> str:
    """The path of a version's HTML report on the report server, relative to its root."""
    return f"models/{model}/{version}/report.html"


def report_address(
    report: Path | str,
    *,
    model: str,
    version: str,
    server_url: str | None = None,
) -> str:
    """Where a person opens a version's HTML report.

    Args:
        report: The report's local file, or its URL in object storage.
        model: The model's name.
        version: The version's name (vNNNN).
        server_url: The base URL of a report server that serves this workspace, if one does.

    Returns:
        The report server's URL for it, else the object-storage URL, else a `file://` URL.
    """
    if server_url:
        return f"{server_url.rstrip('/')}/{report_path(model, version)}"
    return report if isinstance(report, str) else report.as_uri()


def _number(value: Any) -> str:
    if not isinstance(value, int | float) or math.isnan(value):
        return "-"
    return f"{value:.4f}"


def metrics_markdown(metadata: dict[str, Any]) -> str:
    """The test metrics of the model and of each baseline as a Markdown table (target units)."""
    rows = metrics_rows(metadata)
    keys = [key for key in METRIC_LABELS if key in metadata["metrics"]]
    lines = [
        "| model | " + " | ".join(METRIC_LABELS[key] for key in keys) + " |",
        "|---|" + "---:|" * len(keys),
    ]
    lines += [f"| {name} | " + " | ".join(_number(values.get(key)) for key in keys) + " |" for name, values in rows]
    return "\n".join(lines)


def plots_markdown(plots: dict[str, bytes]) -> str:
    """Each plot under its own heading, as an inline PNG image."""
    sections = []
    for name, data in plots.items():
        title = name.replace("_", " ")
        encoded = base64.b64encode(data).decode("ascii")
        sections.append(f"### {title}\n\n![{title}](data:image/png;base64,{encoded})")
    return "\n\n".join(sections)


def render_markdown(
    metadata: dict[str, Any],
    *,
    reference: str,
    plots: dict[str, bytes],
    report_url: str | None = None,
) -> str:
    """The report of one model version as Markdown: reference, facts, test metrics, plots.

    Args:
        metadata: The package's metadata (package.json), with `metrics` and `baselines`.
        reference: The version as a person names it, e.g. `sales@v0003`.
        plots: PNG bytes by plot name, in the order to show them (see `read_plots`).
        report_url: Where the full HTML report opens, linked at the top when given.

    Returns:
        Markdown that shows the plots without any server (`data:` image URIs).
    """
    split_rows = metadata.get("data", {}).get("split_rows", {})
    facts = [
        f"target `{metadata.get('target')}`",
        f"as of {metadata.get('as_of') or '-'}",
        f"{split_rows.get('test', '-')} test rows",
    ]
    parts = [f"# Model `{reference}`", "; ".join(facts)]
    if report_url:
        parts.append(f"Full report: [{report_url}]({report_url})")
    parts += ["## Test metrics (target units)", metrics_markdown(metadata)]
    if plots:
        parts += ["## Plots", plots_markdown(plots)]
    return "\n\n".join(parts) + "\n"
