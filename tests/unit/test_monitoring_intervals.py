"""Interval coverage of late actuals by day, equal to pandas' own figures on the same join, and its warning."""

import math
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from regress_cli.commands.monitor import print_report
from regress_core.monitoring import plot_errors_by_day
from regress_core.monitoring.daily import coverage_margin
from tests.unit.test_monitoring import arrived, run_monitor, scored, write_day

DAYS = ("2026-11-29", "2026-11-30", "2026-12-01")
# Half-widths around each prediction: the actuals' noise is N(0, 1), so 1.645 covers about 90 %;
# 0.3 covers about 24 %, far from the level.
HALF_WIDTHS = {"2026-11-29": 1.645, "2026-11-30": 1.645, "2026-12-01": 0.3}


def write_bounded_day(root, day: str, frame: pd.DataFrame, level: str | None) -> None:
    """A day's predictions with `lower` and `upper`, their level in the file's metadata as `regress score` writes it."""
    folder = root / "predictions" / f"dt={day}"
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if level is not None:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), b"regress.interval": level.encode()})
    pq.write_table(table, folder / "part.parquet")


@pytest.fixture
def bounded(tmp_path):
    """Three days of 200 predictions with intervals at 0.90 (the last day's too narrow); actuals for 160 of each."""
    for offset, day in enumerate(DAYS):
        predictions = scored(offset, 200, seed=offset).rename(columns={"id": "house_id"})
        half = HALF_WIDTHS[day] * np.linspace(0.8, 1.2, len(predictions))  # widths that differ by row
        predictions["lower"], predictions["upper"] = predictions["prediction"] - half, predictions["prediction"] + half
        write_bounded_day(tmp_path, day, predictions, "0.90")
        truth = arrived(predictions.rename(columns={"house_id": "id"}), 0.8, seed=offset)
        write_day(tmp_path, "actuals", day, truth.rename(columns={"id": "house_id"}))
    return tmp_path


def pandas_coverage(root, day: str) -> tuple[float, float, int]:
    predictions = pd.read_parquet(root / f"predictions/dt={day}/part.parquet")
    both = predictions.merge(pd.read_parquet(root / f"actuals/dt={day}/part.parquet"), on="house_id")
    inside = (both["lower"] <= both["price"]) & (both["price"] <= both["upper"])
    return float(inside.mean()), float((both["upper"] - both["lower"]).mean()), len(both)


def test_each_days_coverage_and_width_equal_pandas_on_the_same_join(bounded):
    report = run_monitor(bounded)
    document = report.as_json()
    for day in document["days"]:
        coverage, width, rows = pandas_coverage(bounded, day["date"])
        assert day["rows"] == rows == 160
        assert day["coverage"] == pytest.approx(coverage, abs=1e-12)
        assert day["mean_width"] == pytest.approx(width, rel=1e-12)
        assert day["interval_level"] == 0.9
    figures = [pandas_coverage(bounded, day) for day in DAYS]
    assert document["window_error"]["coverage"] == pytest.approx(np.mean([f[0] for f in figures]), abs=1e-12)
    assert 0.8 < document["days"][0]["coverage"] < 1.0
    assert document["days"][2]["coverage"] < 0.4


def test_a_day_whose_coverage_strays_from_the_level_is_warned_about(bounded):
    report = run_monitor(bounded)
    coverage = report.days[2].coverage
    assert [line for line in report.warnings() if line.startswith("intervals")] == [
        f"intervals at level 0.9 cover {coverage:.1%} of the 160 actuals of 2026-12-01: more than "
        f"{coverage_margin(0.9, 160):.1%} from 90.0% (3 points and two standard errors)"
    ]
    assert coverage_margin(0.9, 160) == pytest.approx(0.03 + 2 * math.sqrt(0.9 * 0.1 / 160))
    assert "Prediction intervals cover" in report.describe_coverage()


def test_without_a_recorded_level_coverage_is_reported_but_not_judged(bounded):
    day = "2026-12-01"
    frame = pd.read_parquet(bounded / f"predictions/dt={day}/part.parquet")
    write_bounded_day(bounded, day, frame, None)
    report = run_monitor(bounded)
    assert report.levels == {date(2026, 11, 29): 0.9, date(2026, 11, 30): 0.9}
    assert report.days[2].coverage == pytest.approx(pandas_coverage(bounded, day)[0])
    assert "interval_level" not in report.as_json()["days"][2]
    assert not [line for line in report.warnings() if line.startswith("intervals")]


def test_predictions_without_intervals_report_no_coverage(tmp_path):
    for offset, day in enumerate(DAYS):
        predictions = scored(offset, 20, seed=offset).rename(columns={"id": "house_id"})
        write_day(tmp_path, "predictions", day, predictions)
        truth = arrived(predictions.rename(columns={"house_id": "id"}), 1.0, seed=offset)
        write_day(tmp_path, "actuals", day, truth.rename(columns={"id": "house_id"}))
    report = run_monitor(tmp_path)
    document = report.as_json()
    assert all("coverage" not in day and "mean_width" not in day for day in document["days"])
    assert "coverage" not in document["window_error"]
    assert (report.levels, report.describe_coverage()) == ({}, "")


def test_the_printed_table_and_the_plot_show_coverage(bounded, capsys):
    report = run_monitor(bounded)
    print_report(report)
    lines = capsys.readouterr().out.splitlines()
    header = next(line for line in lines if line.startswith("date"))
    assert header.split()[-2:] == ["coverage", "width"]
    first = next(line for line in lines if line.startswith("2026-11-29"))
    assert first.split()[-2:] == [f"{report.days[0].coverage:.1%}", f"{report.days[0].mean_width:.4f}"]
    png = plot_errors_by_day(report)
    assert png.startswith(b"\x89PNG")
