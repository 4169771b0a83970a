"""An SQLite table as a user types it: training on a window through `data.query` (a rerun finds nothing new),
then scoring a day's rows from a query into a predictions table, replacing that day's rows."""

from __future__ import annotations

import sqlite3

import pandas as pd

from regress_core.data.sources import bundled_path
from regress_core.scoring.sql_io import write_sql_predictions
from tests.flows.test_moving_window import ROWS_A_DAY, split_rows
from tests.helpers import model_registry, regress


def test_a_window_of_an_sqlite_query_trains_once_and_then_finds_nothing_new(tmp_path, home):
    rows = pd.read_csv(bundled_path("california_housing")).iloc[: 60 * ROWS_A_DAY].copy()
    times = pd.Timestamp("2026-10-01") + pd.to_timedelta([2 * index for index in range(len(rows))], unit="h")
    rows["ts"] = times.strftime("%Y-%m-%d %H:%M:%S")
    with sqlite3.connect(tmp_path / "sales.db") as connection:
        rows.to_sql("sales", connection, index=False)
    train = [
        "train",
        "--data",
        "sqlite:///sales.db",
        "--target",
        "MedHouseVal",
        "--preset",
        "linear",
        "--set",
        "data.query=SELECT * FROM sales WHERE ts >= :start AND ts < :end",
        "--set",
        "data.time_column=ts",
        "--set",
        "data.window=30d",
        "--as-of",
        "2026-11-30",
        # The first version becomes champion whatever its quality: this test is about the rows read.
        "--set",
        "gate.r2_min=null",
        "--set",
        "gate.linear_tolerance=null",
        "--set",
        "gate.coverage_tolerance=null",
    ]

    first = regress(*train, home=home, cwd=str(tmp_path))
    assert first.returncode == 0, first.stderr
    assert split_rows(first.stdout + first.stderr) == 30 * ROWS_A_DAY  # [2026-10-31, 2026-11-30)
    assert model_registry(home, "sales").versions() == ["v0001"]
    assert model_registry(home, "sales").metadata("v0001")["config"]["data"]["source"] == (
        f"sqlite:///{tmp_path / 'sales.db'}"
    )

    again = regress(*train, home=home, cwd=str(tmp_path))
    assert again.returncode == 0, again.stderr
    assert "nothing new since sales@v0001 (same 360 rows)" in again.stdout
    assert model_registry(home, "sales").versions() == ["v0001"]

    stale = pd.DataFrame({"ts": ["stale"] * 3, "prediction": [0.0] * 3})
    write_sql_predictions(f"sqlite:///{tmp_path / 'preds.db'}", "predictions", stale, "2026-11-20")
    query = "SELECT * FROM sales WHERE date(ts) = date(:as_of)"
    score = ["score", "--input", "sqlite:///sales.db", "--query", query, "--keep", "ts", "--as-of", "2026-11-20"]
    scored = regress(*score, "--output", "sqlite:///preds.db", "--table", "predictions", home=home, cwd=str(tmp_path))
    assert scored.returncode == 0, scored.stderr
    assert "wrote 12 predictions for 2026-11-20 to table predictions of sqlite:///" in scored.stdout
    with sqlite3.connect(tmp_path / "preds.db") as connection:
        stored = pd.read_sql("SELECT * FROM predictions", connection)
    assert stored["as_of"].tolist() == ["2026-11-20"] * ROWS_A_DAY  # the day's stale rows were replaced
    assert stored["ts"].str.startswith("2026-11-20").all()
