"""Simulated daily arrivals: deterministic, one partition or table of California rows a day, drift, refusals."""

from __future__ import annotations

import re
import sqlite3
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from regress_cli.main import main
from regress_core.config import RegressConfig
from regress_core.data.simulate import Simulation, simulate_days, write_partitions, write_sqlite_table
from regress_core.data.sources import bundled_path
from regress_core.errors import ConfigError

START = date(2026, 10, 1)


def test_days_are_deterministic_with_a_seed_and_hold_no_row_twice():
    days = simulate_days(Simulation(START, 5, rows_per_day=40, seed=1))
    again = simulate_days(Simulation(START, 5, rows_per_day=40, seed=1))
    other = simulate_days(Simulation(START, 5, rows_per_day=40, seed=2))
    for (day, rows), (_, same), (_, different) in zip(days, again, other, strict=True):
        pd.testing.assert_frame_equal(rows, same)
        assert not rows.drop(columns="ts").equals(different.drop(columns="ts"))
        assert (rows["ts"].dt.date == day).all()
        assert rows["ts"].is_monotonic_increasing
    assert [day for day, _ in days] == [date(2026, 10, day) for day in range(1, 6)]
    everything = pd.concat([rows for _, rows in days]).drop(columns="ts")
    assert not everything.duplicated().any()


def test_by_default_the_bundled_rows_are_shared_out_over_the_days():
    days = simulate_days(Simulation(START, 60))
    california = pd.read_csv(bundled_path("california_housing"))
    assert {len(rows) for _, rows in days} == {len(california) // 60}
    assert list(days[0][1].columns) == [*california.columns, "ts"]


def test_drift_moves_each_day_a_little_further_up_to_the_last():
    plain = simulate_days(Simulation(START, 11, rows_per_day=50))
    drifted = simulate_days(Simulation(START, 11, rows_per_day=50, drift=0.5))
    scale = pd.read_csv(bundled_path("california_housing")).std()
    first_shift = drifted[0][1]["MedHouseVal"] - plain[0][1]["MedHouseVal"]
    middle_shift = drifted[5][1]["MedInc"] - plain[5][1]["MedInc"]
    last_shift = drifted[-1][1]["MedHouseVal"] - plain[-1][1]["MedHouseVal"]
    np.testing.assert_allclose(first_shift, 0.0)
    np.testing.assert_allclose(middle_shift, 0.25 * scale["MedInc"])
    np.testing.assert_allclose(last_shift, 0.5 * scale["MedHouseVal"])


def test_partitions_are_one_parquet_file_a_day(tmp_path):
    written = write_partitions(Simulation(START, 3, rows_per_day=7), tmp_path / "sales")
    assert [path.relative_to(tmp_path).as_posix() for path in written] == [
        f"sales/dt=2026-10-0{day}/part.parquet" for day in (1, 2, 3)
    ]
    second = pd.read_parquet(written[1])
    assert len(second) == 7
    assert pd.api.types.is_datetime64_any_dtype(second["ts"])


def test_an_sqlite_table_is_replaced_whole_with_text_times(tmp_path):
    url = f"sqlite:///{tmp_path / 'sales.db'}"
    assert write_sqlite_table(Simulation(START, 3, rows_per_day=7), url) == 21
    assert write_sqlite_table(Simulation(START, 2, rows_per_day=5), url) == 10
    with sqlite3.connect(tmp_path / "sales.db") as connection:
        count, first, last = connection.execute("SELECT count(*), min(ts), max(ts) FROM sales").fetchone()
    connection.close()
    assert count == 10
    assert first.startswith("2026-10-01 ")
    assert last.startswith("2026-10-02 ")
    assert len(first) == len("2026-10-01 00:00:00")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"days": 0}, "--days must be between 1 and"),
        ({"days": 3, "drift": 1.5}, "--drift must be between 0.0 and 1.0, got 1.5"),
        ({"days": 3, "rows_per_day": 0}, "--rows-per-day must be at least 1, got 0"),
    ],
)
def test_settings_out_of_range_are_refused(settings, message):
    with pytest.raises(ConfigError, match=message):
        Simulation(START, **settings)


def test_only_sqlite_urls_and_plain_table_names_are_taken(tmp_path):
    simulation = Simulation(START, 1, rows_per_day=3)
    with pytest.raises(ConfigError, match="is not a folder or an SQLite URL"):
        write_sqlite_table(simulation, "postgresql+psycopg://regress@127.0.0.1/db")
    with pytest.raises(ConfigError, match="--table 'sales; drop' is not a plain table name"):
        write_sqlite_table(simulation, f"sqlite:///{tmp_path / 'x.db'}", table="sales; drop")


def test_the_command_refuses_the_workspace_managed_folders(tmp_path, capsys):
    home = tmp_path / "home"
    for target in (str(home / "registry" / "sales"), f"sqlite:///{home / 'cache' / 'sales.db'}"):
        code = main(["data", "simulate", "--days", "2", "--to", target, "--home", str(home)])
        assert code == 2
        err = capsys.readouterr().err
        assert err.startswith(f"regress: error: --to {target.removeprefix('sqlite:///')} is inside the workspace's")
    assert not home.exists()


def test_the_command_writes_the_days_ending_today_by_default(tmp_path, capsys):
    assert main(["data", "simulate", "--days", "2", "--rows-per-day", "3", "--to", str(tmp_path / "sales")]) == 0
    assert "wrote 2 partitions of" in capsys.readouterr().out
    assert len(list((tmp_path / "sales").glob("dt=*/part.parquet"))) == 2


def test_the_nightly_deployment_trains_on_a_moving_window_of_the_days_make_ui_seeds():
    project = Path(__file__).resolve().parents[2]
    deployments = yaml.safe_load((project / "prefect.yaml").read_text())["deployments"]
    nightly = next(entry for entry in deployments if entry["name"] == "nightly")
    config = RegressConfig.model_validate(nightly["parameters"]["config"]).resolved()
    assert (config.data.time_column, config.data.window, config.split.strategy) == ("ts", "30d", "time")
    seeded = re.search(r"regress data simulate --days 60 --to (\S+)", (project / "Makefile").read_text())
    assert seeded, "make ui seeds no days"
    assert config.data.source == f"{seeded.group(1)}/dt={{date}}/part.parquet"
