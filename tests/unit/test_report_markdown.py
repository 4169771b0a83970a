"""The model report as Markdown for the Prefect UI: reference, metrics next to baselines, plots inline."""

from __future__ import annotations

import base64
import re
from pathlib import Path

from regress_core.evaluation.report_markdown import read_plots, render_markdown, report_address
from regress_core.registry.catalog import Registry

METADATA = {
    "target": "price",
    "as_of": "2024-05-01T00:00:00+00:00",
    "data": {"split_rows": {"train": 60, "val": 20, "test": 20}},
    "metrics": {"mse": 0.25, "rmse": 0.5, "mae": 0.4, "r2": 0.91},
    "baselines": {
        "mean": {"mse": 4.0, "rmse": 2.0, "mae": 1.6, "r2": 0.0},
        "linear_regression": {"mse": 1.0, "rmse": 1.0, "mae": 0.8, "r2": 0.7},
    },
}


def images(markdown: str) -> dict[str, bytes]:
    found = re.findall(r"!\[([^\]]*)\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", markdown)
    return {alt: base64.b64decode(data) for alt, data in found}


def test_a_packages_plots_are_inline_images_in_a_stable_order(trained_home):
    package_dir = Registry(Path(trained_home) / "registry").model("train").version_dir("v0001")
    plots = read_plots(package_dir / "plots")
    assert list(plots)[:3] == ["predicted_vs_actual", "residuals", "loss_curves"]
    assert list(plots)[3:] == sorted(list(plots)[3:])
    markdown = render_markdown(METADATA, reference="train@v0001", plots=plots)
    shown = images(markdown)
    assert list(shown) == [name.replace("_", " ") for name in plots]
    assert shown["predicted vs actual"] == (package_dir / "plots" / "predicted_vs_actual.png").read_bytes()
    assert shown["predicted vs actual"].startswith(b"\x89PNG")


def test_a_new_plot_appears_after_the_standard_ones(tmp_path):
    for name in ("zeta", "residuals", "importance", "predicted_vs_actual"):
        (tmp_path / f"{name}.png").write_bytes(b"\x89PNG" + name.encode())
    (tmp_path / "notes.txt").write_text("not a plot")
    assert list(read_plots(tmp_path)) == ["predicted_vs_actual", "residuals", "importance", "zeta"]
    assert read_plots(tmp_path / "missing") == {}


def test_metrics_of_the_model_and_its_baselines():
    markdown = render_markdown(METADATA, reference="sales@v0003", plots={})
    assert markdown.startswith("# Model `sales@v0003`\n")
    assert "target `price`; as of 2024-05-01T00:00:00+00:00; 20 test rows" in markdown
    assert "| model | MSE | RMSE | MAE | R2 |" in markdown
    assert "| this model | 0.2500 | 0.5000 | 0.4000 | 0.9100 |" in markdown
    assert "| mean | 4.0000 | 2.0000 | 1.6000 | 0.0000 |" in markdown
    assert "| linear regression | 1.0000 | 1.0000 | 0.8000 | 0.7000 |" in markdown
    assert "## Plots" not in markdown
    assert "Full report" not in markdown


def test_the_report_link_goes_to_the_report_server_when_one_serves_it(tmp_path):
    report = tmp_path / "registry" / "models" / "sales" / "versions" / "v0003" / "report.html"
    served = report_address(report, model="sales", version="v0003", server_url="http://127.0.0.1:4201/")
    assert served == "http://127.0.0.1:4201/models/sales/v0003/report.html"
    assert report_address(report, model="sales", version="v0003") == report.as_uri()
    remote = "s3://bucket/regress/registry/models/sales/versions/v0003/report.html"
    assert report_address(remote, model="sales", version="v0003") == remote
    markdown = render_markdown(METADATA, reference="sales@v0003", plots={}, report_url=served)
    assert f"Full report: [{served}]({served})" in markdown
