"""Dated partitions and time windows: only the window's files are opened, only its rows reach the snapshot."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import ClassVar

import pandas as pd
import pytest
from fsspec.implementations.memory import MemoryFileSystem
from fsspec.registry import register_implementation

from regress_core.config import DataConfig, build_config
from regress_core.data.sources import PartitionSource, WindowedSource, open_source, read_window, source_name
from regress_core.data.window import parse_instant, window_for
from regress_core.errors import ConfigError, DataError
from regress_core.pipeline import data_stages
from regress_core.pipeline.workspace import Workspace

AS_OF = parse_instant("2026-11-30")
FIRST = date(2026, 1, 1)


class CountingFileSystem(MemoryFileSystem):
    """An in-memory filesystem that records every file opened and every folder listed."""

    protocol = "countmem"
    opened: ClassVar[list[str]] = []
    listed: ClassVar[list[str]] = []

    @classmethod
    def _strip_protocol(cls, path):
        return super()._strip_protocol(path.removeprefix("countmem://"))

    def _open(self, path, *args, **kwargs):
        type(self).opened.append(self._strip_protocol(path))
        return super()._open(path, *args, **kwargs)

    def ls(self, path, detail=True, **kwargs):
        type(self).listed.append(self._strip_protocol(path))
        return super().ls(path, detail=detail, **kwargs)


register_implementation("countmem", CountingFileSystem, clobber=True)


def day_rows(day: date, n: int = 3) -> pd.DataFrame:
    times = [pd.Timestamp(day) + pd.Timedelta(hours=6 * i) for i in range(n)]
    return pd.DataFrame({"ts": times, "x": [float(i) for i in range(n)], "y": [2.0 * i for i in range(n)]})


@pytest.fixture
def year_of_partitions():
    """365 daily partitions in memory, under a folder of their own."""
    fs = CountingFileSystem()
    root = f"/sales-{id(fs)}"
    for offset in range(365):
        day = FIRST + timedelta(days=offset)
        buffer = io.BytesIO()
        day_rows(day).to_parquet(buffer, index=False)
        fs.pipe(f"{root}/dt={day.isoformat()}/part.parquet", buffer.getvalue())
    CountingFileSystem.opened.clear()
    CountingFileSystem.listed.clear()
    yield root
    fs.rm(root, recursive=True)


def window_dirs(root: str, window) -> set[str]:
    return {f"{root}/dt={day.isoformat()}" for day in window.days()}


def test_only_the_windows_partitions_are_opened_and_no_folder_is_listed(year_of_partitions):
    root = year_of_partitions
    window = window_for(AS_OF, length="30d")
    source = WindowedSource(
        open_source(f"countmem://{root}/dt={{date}}/part.parquet", window=window, as_of=AS_OF), window, AS_OF, "ts"
    )
    table, summary = read_window(source)
    assert sorted(CountingFileSystem.opened) == sorted(f"{d}/part.parquet" for d in window_dirs(root, window))
    assert CountingFileSystem.listed == []
    assert table.num_rows == 90
    assert summary["rows"] == 90
    assert list(summary["days"]) == [day.isoformat() for day in window.days()]
    assert set(summary["days"].values()) == {3}
    assert summary["warnings"] == []


def test_a_glob_is_listed_inside_its_own_days_folders_only(year_of_partitions):
    root = year_of_partitions
    window = window_for(AS_OF, length="7d")
    source = open_source(f"countmem://{root}/dt={{date}}/*.parquet", window=window, as_of=AS_OF)
    assert len(source.files()) == 7
    assert set(CountingFileSystem.listed) <= window_dirs(root, window)


def test_as_of_names_exactly_one_partition(year_of_partitions):
    source = open_source(
        f"countmem://{year_of_partitions}/dt={{as_of}}/part.parquet",
        window=window_for(AS_OF, length="30d"),
        as_of=AS_OF,
    )
    assert source.files() == [f"countmem://{year_of_partitions}/dt=2026-11-30/part.parquet"]


def write_days(folder, days: list[date], frame=day_rows) -> str:
    for day in days:
        (folder / f"dt={day.isoformat()}").mkdir(parents=True, exist_ok=True)
        frame(day).to_parquet(folder / f"dt={day.isoformat()}" / "part.parquet", index=False)
    return str(folder / "dt={date}" / "part.parquet")


def test_missing_days_are_listed_in_a_warning(tmp_path):
    days = [date(2026, 11, 25), date(2026, 11, 26), date(2026, 11, 29)]
    template = write_days(tmp_path / "sales", days)
    window = window_for(AS_OF, length="5d")
    _, summary = read_window(WindowedSource(open_source(template, window=window, as_of=AS_OF), window, AS_OF, "ts"))
    assert "2 day(s) of the window have no partition: 2026-11-27, 2026-11-28" in summary["warnings"]
    assert summary["days"]["2026-11-27"] == 0
    assert summary["rows"] == 9


def test_an_empty_window_is_a_one_line_error(tmp_path):
    template = write_days(tmp_path / "sales", [date(2026, 1, 5)])
    window = window_for(AS_OF, length="30d")
    with pytest.raises(DataError, match=r"no partition of .* for any day of the window \(2026-10-31 to 2026-11-29\)"):
        read_window(WindowedSource(open_source(template, window=window, as_of=AS_OF), window, AS_OF, "ts"))


def test_partitions_whose_schemas_disagree_name_the_file(tmp_path):
    template = write_days(tmp_path / "sales", [date(2026, 11, 28)])
    write_days(tmp_path / "sales", [date(2026, 11, 29)], frame=lambda day: day_rows(day).rename(columns={"x": "z"}))
    window = window_for(AS_OF, length="3d")
    with pytest.raises(DataError, match=r"partition .*dt=2026-11-29/part.parquet does not match .*missing x; extra z"):
        read_window(WindowedSource(open_source(template, window=window, as_of=AS_OF), window, AS_OF, "ts"))


def test_no_row_at_or_after_as_of_reaches_the_raw_snapshot(tmp_path):
    times = ["2026-10-30T23:59:59", "2026-10-31T00:00", "2026-11-29T23:59:59", "2026-11-30T00:00", "2026-12-03", ""]
    frame = pd.DataFrame({"id": range(6), "ts": times, "x": [1.0] * 6, "y": [2.0] * 6})
    frame.to_csv(tmp_path / "sales.csv", index=False)
    data = DataConfig(source=str(tmp_path / "sales.csv"), target="y", time_column="ts", window="30d")
    raw = data_stages.ingest(data, Workspace.at(str(tmp_path / "home")), as_of=AS_OF)
    assert raw.read()["id"].tolist() == [1, 2]
    assert "ts" not in raw.read().columns  # not a feature unless listed in data.features
    assert (raw.window["no_time_rows"], raw.window["future_rows"]) == (1, 2)
    assert "2 row(s) are at or after as_of 2026-11-30T00:00:00+00:00; not trained on" in raw.window["warnings"]
    assert "1 row(s) have no time in 'ts'; not trained on" in raw.window["warnings"]
    kept = data.model_copy(update={"features": ["ts", "x"]})
    assert "ts" in data_stages.ingest(kept, Workspace.at(str(tmp_path / "home")), as_of=AS_OF).read().columns


def test_the_ingest_key_follows_the_window_and_the_files_read(tmp_path):
    template = write_days(tmp_path / "sales", [date(2026, 11, 28), date(2026, 11, 29)])
    data = DataConfig(source=template, target="y", time_column="ts", window="3d")
    key = data_stages.ingest_key(data, AS_OF)
    assert data_stages.ingest_key(data, parse_instant("2026-11-30T00:00:00+00:00")) == key
    assert data_stages.ingest_key(data, parse_instant("2026-12-01")) != key
    write_days(tmp_path / "sales", [date(2026, 12, 5)])  # outside the window: the key stays
    assert data_stages.ingest_key(data, AS_OF) == key
    write_days(tmp_path / "sales", [date(2026, 11, 27)])
    assert data_stages.ingest_key(data, AS_OF) != key


def test_naive_times_are_read_in_the_configured_timezone(tmp_path):
    frame = pd.DataFrame({"ts": ["2026-11-29T23:30", "2026-11-30T00:30"], "x": [1.0, 2.0], "y": [1.0, 2.0]})
    frame.to_csv(tmp_path / "t.csv", index=False)
    utc = DataConfig(source=str(tmp_path / "t.csv"), target="y", time_column="ts", window="1d")
    tokyo = utc.model_copy(update={"timezone": "Asia/Tokyo"})
    as_of = parse_instant("2026-11-30T01:00", timezone="Asia/Tokyo")  # 2026-11-29T16:00 UTC
    assert data_stages.ingest(utc, Workspace.at(str(tmp_path / "a")), as_of=AS_OF).read()["x"].tolist() == [1.0]
    assert data_stages.ingest(tokyo, Workspace.at(str(tmp_path / "b")), as_of=as_of).read()["x"].tolist() == [1.0, 2.0]
    with pytest.raises(DataError, match=r"no rows of .*t.csv in the window 2026-11-28 16:00 to 2026-11-29 16:00 UTC"):
        data_stages.ingest(utc, Workspace.at(str(tmp_path / "c")), as_of=as_of)  # read as UTC, both are later


def test_a_missing_or_unreadable_time_column_is_a_one_line_error(tmp_path):
    pd.DataFrame({"when": ["2026-11-29"], "x": [1.0], "y": [1.0]}).to_csv(tmp_path / "a.csv", index=False)
    pd.DataFrame({"ts": ["soon"], "x": [1.0], "y": [1.0]}).to_csv(tmp_path / "b.csv", index=False)
    ws = Workspace.at(str(tmp_path / "home"))
    with pytest.raises(DataError, match=r"a.csv has no time column 'ts' \(columns: when, x, y\)"):
        data_stages.ingest(DataConfig(source=str(tmp_path / "a.csv"), time_column="ts", window="1d"), ws, as_of=AS_OF)
    with pytest.raises(DataError, match=r"b.csv: column 'ts' does not hold ISO dates or times"):
        data_stages.ingest(DataConfig(source=str(tmp_path / "b.csv"), time_column="ts", window="1d"), ws, as_of=AS_OF)


def test_a_window_longer_than_the_data_is_a_warning(tmp_path):
    template = write_days(tmp_path / "sales", [date(2026, 11, 28), date(2026, 11, 29)])
    data = DataConfig(source=template, target="y", time_column="ts", window="10d")
    raw = data_stages.ingest(data, Workspace.at(str(tmp_path / "home")), as_of=AS_OF)
    assert any("the window is longer than the data" in text for text in raw.window["warnings"])


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"window": "30d"}, "a window needs data.time_column"),
        ({"time_column": "ts"}, "data.time_column needs a window"),
        ({"time_column": "ts", "window": "30 days"}, "is not a length such as 30d"),
        ({"time_column": "ts", "window": "3d", "start": "2026-01-01"}, "not both"),
        ({"time_column": "ts", "window": "3d", "timezone": "Mars/Base"}, "unknown timezone"),
        ({"source": "s/dt={date}/p.parquet"}, "is dated"),
    ],
)
def test_window_settings_are_checked_in_one_line(values, message):
    with pytest.raises(ConfigError, match=message):
        build_config(values={"data": values})


def test_a_dated_source_is_named_by_its_folder():
    assert source_name("data/sales/dt={date}/part.parquet") == "sales"
    assert source_name("s3://bucket/orders/{date}.csv") == "orders"
    assert isinstance(
        open_source("x/dt={date}/p.parquet", window=window_for(AS_OF, length="1d"), as_of=AS_OF), PartitionSource
    )
