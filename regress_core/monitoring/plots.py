"""A small picture of the error by day next to the version's test RMSE and the tolerance above it."""

from __future__ import annotations

import base64
import io
import math
from typing import Any

from regress_core.monitoring.report import MonitorReport


def plot_errors_by_day(report: MonitorReport) -> bytes:
    """RMSE and MAE per day (a gap where no actual has arrived), the test RMSE and the degraded line, as PNG bytes.

    Predictions with intervals add each day's coverage of the actuals, on an axis of its own.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    days = [day.date.isoformat() for day in report.days]  # one labelled point a day
    figure, axis = plt.subplots(figsize=(6, 3))
    axis.plot(days, [day.rmse for day in report.days], marker="o", label="RMSE")
    axis.plot(days, [day.mae for day in report.days], marker=".", linestyle=":", label="MAE")
    test_rmse = report.reference.test_rmse
    axis.axhline(test_rmse, color="black", linewidth=1, label="test RMSE")
    axis.axhline(test_rmse * (1 + report.tolerance), color="red", linestyle="--", linewidth=1, label="degraded above")
    axis.set(ylabel="error", title=f"{report.reference.model}@{report.reference.version}: error by day")
    axis.legend(fontsize="small")
    if report.whole.coverage is not None:
        _plot_coverage(axis.twinx(), days, report)
    figure.autofmt_xdate()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def _plot_coverage(axis: Any, days: list[str], report: MonitorReport) -> None:
    """Each day's interval coverage on the right-hand axis, and the levels the intervals were scored at."""
    coverage = [math.nan if day.coverage is None else day.coverage for day in report.days]
    axis.plot(days, coverage, color="green", marker="s", linestyle="-.", label="interval coverage")
    for level in sorted(set(report.levels.values())):
        axis.axhline(level, color="green", linewidth=0.8, linestyle=":")
    axis.set(ylabel="interval coverage", ylim=(0, 1.05))
    axis.legend(fontsize="small", loc="lower right")


def png_markdown(png: bytes, *, alt: str) -> str:
    """A markdown image that carries the PNG itself (no file to serve)."""
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"
