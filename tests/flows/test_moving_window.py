"""Training on a moving window: exact window rows of dated partitions, "nothing new", the next day, events."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pandas as pd

from flows.training import training
from regress_core.config import build_config
from regress_core.data.sources import bundled_path
from regress_core.pipeline.freshness import NothingNew
from tests.flows.test_events import wait_for_events
from tests.helpers import fast_config, make_table, model_registry, regress

ROWS_A_DAY = 12


def write_day(folder, day: date, rows: pd.DataFrame) -> None:
    part = rows.copy()
    part["ts"] = [pd.Timestamp(day) + pd.Timedelta(hours=2 * hour) for hour in range(len(part))]
    (folder / f"dt={day.isoformat()}").mkdir(parents=True, exist_ok=True)
    part.to_parquet(folder / f"dt={day.isoformat()}" / "part.parquet", index=False)


def split_rows(output: str) -> int:
    found = re.search(r"split (\d+) / (\d+) / (\d+) rows \(train / validation / test\)", output)
    assert found, output
    return sum(int(count) for count in found.groups())


def test_a_moving_window_trains_on_exactly_its_days_and_skips_what_it_has_seen(tmp_path, home):
    california = pd.read_csv(bundled_path("california_housing"))
    folder = tmp_path / "sales"
    days = [date(2026, 10, 1) + timedelta(days=offset) for offset in range(60)]  # through 2026-11-29
    for index, day in enumerate(days):
        write_day(folder, day, california.iloc[index * ROWS_A_DAY : (index + 1) * ROWS_A_DAY])
    for day in (date(2026, 12, 2), date(2026, 12, 3)):  # later partitions that are not even Parquet
        (folder / f"dt={day.isoformat()}").mkdir()
        (folder / f"dt={day.isoformat()}" / "part.parquet").write_text("not read by a run dated before them")
    train = [
        "train",
        "--data",
        str(folder / "dt={date}" / "part.parquet"),
        "--target",
        "MedHouseVal",
        "--preset",
        "linear",
        "--set",
        "data.time_column=ts",
        "--set",
        "data.window=30d",
        # The bundled rows in file order, so the latest days come from another region: a time
        # split would test on rows unlike any trained on, and no first version would become champion.
        "--set",
        "split.strategy=random",
    ]

    first = regress(*train, "--as-of", "2026-11-30", home=home)
    assert first.returncode == 0, first.stderr
    assert split_rows(first.stdout + first.stderr) == 30 * ROWS_A_DAY  # [2026-10-31, 2026-11-30)
    assert "as of 2026-11-30T00:00:00+00:00" in first.stdout
    assert "window 2026-10-31 00:00 to 2026-11-30 00:00 UTC: 360 rows" in first.stdout
    assert model_registry(home, "sales").versions() == ["v0001"]

    again = regress(*train, "--as-of", "2026-11-30", home=home)
    assert again.returncode == 0, again.stderr
    assert "nothing new since sales@v0001 (same 360 rows)" in again.stdout
    assert "decision:" not in again.stdout
    assert model_registry(home, "sales").versions() == ["v0001"]

    forced = regress(*train, "--as-of", "2026-11-30", "--force", home=home)
    assert forced.returncode == 0, forced.stderr
    assert "nothing new" not in forced.stdout
    assert "decision: sales@v0001 is already the champion" in forced.stdout

    write_day(folder, date(2026, 11, 30), california.iloc[60 * ROWS_A_DAY : 61 * ROWS_A_DAY])
    later = regress(*train, "--as-of", "2026-12-01", home=home)
    assert later.returncode == 0, later.stderr
    assert split_rows(later.stdout + later.stderr) == 30 * ROWS_A_DAY  # [2026-11-01, 2026-12-01)
    assert model_registry(home, "sales").versions() == ["v0001", "v0002"]
    window = model_registry(home, "sales").metadata("v0002")["data"]["window"]
    assert (window["window"]["start"], window["window"]["end"]) == (
        "2026-11-01T00:00:00+00:00",
        "2026-12-01T00:00:00+00:00",
    )
    assert window["days"]["2026-11-30"] == ROWS_A_DAY
    assert len(window["days"]) == 30
    assert model_registry(home, "sales").metadata("v0002")["as_of"] == "2026-12-01T00:00:00+00:00"
    report = (model_registry(home, "sales").version_dir("v0002") / "report.html").read_text()
    assert "<h2>Time window</h2><p>2026-11-01 00:00 to 2026-12-01 00:00 UTC" in report
    assert f"<tr><td>2026-11-30</td><td>{ROWS_A_DAY}</td></tr>" in report


def test_bad_as_of_and_an_empty_window_are_one_line_errors(tmp_path, home):
    folder = tmp_path / "sales"
    write_day(folder, date(2026, 1, 1), pd.DataFrame({"x": [1.0, 2.0], "y": [1.0, 2.0]}))
    train = ["train", "--data", str(folder / "dt={date}" / "part.parquet"), "--target", "y"]
    window = ["--set", "data.time_column=ts", "--set", "data.window=30d"]

    bad = regress(*train, *window, "--as-of", "yesterday", home=home)
    assert bad.returncode == 2
    assert "regress: error: --as-of: 'yesterday' is not a date" in bad.stderr

    empty = regress(*train, *window, "--as-of", "2026-11-30", home=home)
    assert empty.returncode == 3, empty.stderr
    assert "regress: error: no partition of" in empty.stderr
    assert "Traceback" not in empty.stderr
    assert not (tmp_path / "home" / "registry").exists() or model_registry(home, "sales").versions() == []


def test_a_run_with_nothing_new_emits_an_event_and_every_event_carries_as_of(tmp_path):
    table = make_table(200)
    table["ts"] = pd.date_range("2026-11-01", periods=200, freq="h").astype(str)  # naive: read as UTC
    table.to_csv(tmp_path / "windowed.csv", index=False)
    data = {"source": str(tmp_path / "windowed.csv"), "target": "y", "time_column": "ts", "window": "30d"}
    config = build_config(values=fast_config(str(tmp_path / "home"), data=data))
    as_of = datetime(2026, 11, 8, 6, tzinfo=UTC)  # 174 rows before it, 26 at or after it

    first = training(config=config, as_of=as_of)
    assert first.window["rows"] == 174
    assert first.window["future_rows"] == 26
    assert first.as_of == as_of.isoformat()
    again = training(config=config, as_of=as_of)
    assert isinstance(again, NothingNew)
    assert again.summary == f"nothing new since windowed@{first.version} (same 174 rows)"

    found = wait_for_events("windowed", {"regress.model.promoted", "regress.data.unchanged"})
    assert found["regress.data.unchanged"].payload["as_of"] == "2026-11-08T06:00:00+00:00"
    assert found["regress.data.unchanged"].payload["rows"] == 174
    assert found["regress.model.promoted"].payload["as_of"] == "2026-11-08T06:00:00+00:00"
