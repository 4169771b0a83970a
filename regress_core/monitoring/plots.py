"""A small picture of the error by day next to the version's test RMSE and the tolerance above it."""

from __future__ import annotations

import base64
import io

from regress_core.monitoring.report import MonitorReport


def plot_errors_by_day(report: MonitorReport) -> bytes:
    """RMSE and MAE per day (a gap where no actual has arrived), the test RMSE and the degraded line, as PNG bytes."""
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
    figure.autofmt_xdate()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def png_markdown(png: bytes, *, alt: str) -> str:
    """A markdown image that carries the PNG itself (no file to serve)."""
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"
