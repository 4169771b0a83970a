"""SQL sources and sinks on a real SQLite file: the window in the database, content keys, settings, failures."""

from __future__ import annotations

import argparse
import re
import sqlite3
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from regress_cli.sql_scoring import check_flags
from regress_core.config import build_config
from regress_core.data.sources import SqlSource, WindowedSource, read_window, source_kind, source_name
from regress_core.data.sql import check_connection, is_sql_url, read_arrow, use_password
from regress_core.errors import ConfigError, DataError, ServiceError
from regress_core.pipeline.data_stages import data_source, ingest, ingest_key
from regress_core.pipeline.preflight import preflight_training
from regress_core.pipeline.workspace import Workspace
from regress_core.scoring.sql_io import read_sql_batches, save_sql_input, write_sql_predictions

AS_OF = datetime(2026, 11, 30, tzinfo=UTC)
QUERY = "SELECT * FROM sales WHERE ts >= :start AND ts < :end"


def sales_rows(n_rows: int = 240) -> pd.DataFrame:
    """Rows every 6 hours from 2026-10-15 through 2026-12-14, times as SQLite text."""
    rng = np.random.default_rng(0)
    times = pd.date_range("2026-10-15", periods=n_rows, freq="6h")
    df = pd.DataFrame({"ts": times.strftime("%Y-%m-%d %H:%M:%S"), "a": rng.normal(size=n_rows)})
    df["y"] = 2 * df["a"] + rng.normal(scale=0.1, size=n_rows)
    return df


@pytest.fixture
def sales_db(tmp_path) -> str:
    path = tmp_path / "sales.db"
    with sqlite3.connect(path) as connection:
        sales_rows().to_sql("sales", connection, index=False)
    return f"sqlite:///{path}"


def data_config(source: str, *settings: str):
    return build_config(
        overrides=[f"data.source={source}", "data.target=y", "data.time_column=ts", "data.window=30d", *settings]
    ).data


def window_count() -> int:
    times = pd.to_datetime(sales_rows()["ts"])
    return int(((times >= "2026-10-31") & (times < "2026-11-30")).sum())


def test_a_table_is_read_for_its_window_by_the_database(sales_db):
    source = data_source(data_config(sales_db, "data.table=sales"), AS_OF)
    assert isinstance(source, WindowedSource)
    assert isinstance(source.inner, SqlSource)
    assert source.inner.sql() == 'SELECT * FROM "sales" WHERE "ts" >= :start AND "ts" < :end'
    assert source.inner.params() == {"start": "2026-10-31 00:00:00", "end": "2026-11-30 00:00:00"}
    table, summary = read_window(source)
    assert table.num_rows == summary["rows"] == window_count() == 120
    # The database sent only the window's rows: none from after as_of reached the reader.
    assert source.inner.read().num_rows == 120
    assert summary["future_rows"] == 0
    assert table.column_names == ["a", "y"]


def test_a_query_takes_the_windows_start_and_end(sales_db):
    table, _ = read_window(data_source(data_config(sales_db, f"data.query={QUERY}"), AS_OF))
    assert table.num_rows == window_count()


def test_the_key_is_the_rows_content_so_unchanged_rows_hit_the_cache(sales_db, tmp_path):
    data = data_config(sales_db, "data.table=sales")
    ws = Workspace.at(str(tmp_path / "home"))
    first = ingest(data, ws, as_of=AS_OF)
    assert ingest_key(data, AS_OF) == first.key
    again = ingest(data, ws, as_of=AS_OF)
    assert (again.key, again.sha256) == (first.key, first.sha256)
    with sqlite3.connect(sales_db.removeprefix("sqlite:///")) as connection:
        connection.execute("UPDATE sales SET a = a + 1 WHERE ts = '2026-11-10 06:00:00'")
    assert ingest_key(data, AS_OF) != first.key
    with sqlite3.connect(sales_db.removeprefix("sqlite:///")) as connection:
        connection.execute("UPDATE sales SET a = a + 1 WHERE ts = '2026-12-10 06:00:00'")  # outside the window
        connection.execute("UPDATE sales SET a = a - 1 WHERE ts = '2026-11-10 06:00:00'")
    assert ingest_key(data, AS_OF) == first.key


def test_a_database_source_is_named_by_its_table_or_file(sales_db):
    assert source_kind(sales_db) == "sql"
    assert source_name(sales_db, "public.sales") == "sales"
    assert source_name("sqlite:///data/shop.db") == "shop"
    assert source_name("postgresql+psycopg://regress@127.0.0.1:5432/warehouse") == "warehouse"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ([], "a database source needs exactly one of data.table and data.query"),
        (["data.table=sales", f"data.query={QUERY}"], "exactly one of data.table and data.query"),
    ],
)
def test_a_database_source_needs_one_table_or_query(sales_db, settings, message):
    with pytest.raises(ConfigError, match=message):
        data_config(sales_db, *settings)


def test_table_and_query_are_refused_for_files():
    with pytest.raises(ConfigError, match=r"data\.table and data\.secret_block need a database source"):
        build_config(overrides=["data.source=rows.csv", "data.table=t", "data.secret_block=db"])


def test_a_url_with_a_password_is_refused_and_says_where_the_password_goes():
    url = "postgresql+psycopg://regress:hunter2-secret@127.0.0.1:5432/sales"
    with pytest.raises(ConfigError) as caught:
        build_config(overrides=[f"data.source={url}", "data.table=sales"])
    message = str(caught.value)
    assert "hunter2-secret" not in message
    assert "carries a password" in message
    assert "REGRESS_DB_PASSWORD" in message
    assert "data.secret_block" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("mysql://regress@127.0.0.1/sales", r"unsupported database URL scheme mysql://"),
        ("postgresql+asyncpg://regress@127.0.0.1/sales", r"unsupported database URL scheme postgresql\+asyncpg://"),
        ("sqlite://", "names no database file"),
    ],
)
def test_a_wrong_url_or_driver_is_one_line(source, message):
    with pytest.raises(ConfigError, match=message):
        build_config(overrides=[f"data.source={source}", "data.table=sales"])


def read_error(source: str, *settings: str) -> str:
    with pytest.raises((ConfigError, DataError, ServiceError)) as caught:
        read_window(data_source(data_config(source, *settings), AS_OF))
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_an_unknown_table_a_bad_query_and_a_missing_file_are_one_line(sales_db, tmp_path):
    assert "unknown table or column" in read_error(sales_db, "data.table=nope")
    assert "no such table: nope" in read_error(sales_db, "data.table=nope")
    assert "failed" in read_error(sales_db, "data.query=SELEKT * FROM sales WHERE ts >= :start AND ts < :end")
    assert f"no SQLite database file {tmp_path}/missing.db" in read_error(
        f"sqlite:///{tmp_path}/missing.db", "data.table=sales"
    )
    assert "takes :day; regress binds only :start and :end" in read_error(
        sales_db, "data.query=SELECT * FROM sales WHERE ts < :day"
    )
    assert "no rows of sqlite:///" in read_error(sales_db, "data.query=SELECT * FROM sales WHERE ts < '2000-01-01'")


def test_a_query_with_window_parameters_needs_a_window(sales_db):
    source = SqlSource(sales_db, query=QUERY)
    with pytest.raises(
        ConfigError, match=r"data\.query takes :start and :end: give data\.time_column and data\.window"
    ):
        source.read()


def test_an_unreachable_server_names_its_address_and_a_hint():
    with pytest.raises(ServiceError) as caught:
        check_connection("postgresql+psycopg://regress@127.0.0.1:1/sales")
    message = str(caught.value)
    assert message.startswith("cannot reach the database at 127.0.0.1:1:")
    assert "check that it runs" in message
    assert caught.value.exit_code == 4


def test_training_preflight_connects_to_the_database_before_any_work(tmp_path, monkeypatch):
    monkeypatch.setenv("REGRESS_DB_PASSWORD", "pw-not-shown-1")
    config = build_config(
        overrides=[
            "data.source=postgresql+psycopg://regress@127.0.0.1:1/sales",
            "data.table=sales",
            "data.target=y",
            f"registry.home={tmp_path / 'home'}",
        ]
    )
    with pytest.raises(ServiceError, match=r"cannot reach the database at 127\.0\.0\.1:1") as caught:
        preflight_training(config)
    assert "pw-not-shown-1" not in str(caught.value)
    assert not (tmp_path / "home" / "cache").exists()


def test_a_password_handed_in_is_used_and_never_shown(sales_db):
    use_password("handed-in-secret")
    try:
        table = read_arrow(sales_db, "SELECT count(*) AS n FROM sales")
    finally:
        use_password(None)
    assert table.column("n").to_pylist() == [240]


def predictions(n_rows: int, offset: float = 0.0) -> pd.DataFrame:
    return pd.DataFrame({"house_id": range(n_rows), "prediction": np.arange(n_rows) + offset})


def stored(url: str, table: str = "predictions") -> pd.DataFrame:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
        return pd.read_sql(f"SELECT * FROM {table} ORDER BY as_of, house_id", connection)


def test_predictions_replace_their_days_rows_in_one_transaction(tmp_path):
    url = f"sqlite:///{tmp_path / 'preds.db'}"
    write_sql_predictions(url, "predictions", predictions(50), "2026-12-01")
    write_sql_predictions(url, "predictions", predictions(50), "2026-12-02")
    assert write_sql_predictions(url, "predictions", predictions(50, 0.5), "2026-12-01") == 50
    rows = stored(url)
    assert rows.groupby("as_of").size().to_dict() == {"2026-12-01": 50, "2026-12-02": 50}
    assert rows[rows["as_of"] == "2026-12-01"]["prediction"].iloc[0] == 0.5

    with sqlite3.connect(tmp_path / "preds.db") as connection:
        connection.execute("CREATE UNIQUE INDEX one_house_a_day ON predictions (as_of, house_id)")
    duplicated = pd.concat([predictions(50, 9.0), predictions(1, 9.0)])
    with pytest.raises(ConfigError, match="UNIQUE constraint failed"):
        write_sql_predictions(url, "predictions", duplicated, "2026-12-01")
    pd.testing.assert_frame_equal(stored(url), rows)  # the failed insert left the day's old rows


def test_predictions_refuse_a_table_of_another_schema(tmp_path):
    url = f"sqlite:///{tmp_path / 'preds.db'}"
    with sqlite3.connect(tmp_path / "preds.db") as connection:
        connection.execute("CREATE TABLE predictions (id INTEGER, score REAL)")
    with pytest.raises(ConfigError) as caught:
        write_sql_predictions(url, "predictions", predictions(5), "2026-12-01")
    assert str(caught.value) == (
        f"table predictions in {url} has another schema: it lacks house_id, prediction, as_of and has id, score "
        "that the predictions do not; write to another --table or drop that one"
    )


def test_scoring_input_binds_as_of(sales_db):
    query = "SELECT a FROM sales WHERE date(ts) = date(:as_of)"
    batches = list(read_sql_batches(sales_db, query, {"as_of": datetime(2026, 11, 2, tzinfo=UTC)}))
    assert sum(batch.num_rows for batch in batches) == 4


def score_args(**given: object) -> argparse.Namespace:
    values = {"input": "rows.parquet", "output": "out.parquet", "query": None, "table": None}
    return argparse.Namespace(**{**values, "start": None, "end": None, "skip_scored": False, **given})


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"input": "sqlite:///in.db"}, "--input URL needs --query"),
        ({"output": "sqlite:///out.db"}, "--output URL needs --table"),
        ({"query": "SELECT 1"}, "--query goes with an --input database URL"),
        ({"table": "predictions"}, "--table goes with an --output database URL"),
        ({"output": "sqlite:///o.db", "table": "p", "start": "2026-12-01"}, "a backfill (--start/--end) from or into"),
        ({"output": "sqlite:///o.db", "table": "p", "skip_scored": True}, "--skip-scored keeps its ledger by output"),
    ],
)
def test_scoring_with_a_database_needs_its_flags(given, message):
    args = score_args(**given)
    with pytest.raises(ConfigError, match=re.escape(message)):
        check_flags(args, sql_in=is_sql_url(args.input), sql_out=is_sql_url(args.output))


def test_a_scoring_query_takes_only_as_of(sales_db, tmp_path):
    with pytest.raises(ConfigError, match=r"--query takes :day; regress binds only :as_of"):
        save_sql_input(sales_db, "SELECT * FROM sales WHERE ts < :day", AS_OF, tmp_path / "in.parquet")
    day = "SELECT * FROM sales WHERE date(ts) = date(:as_of)"
    assert save_sql_input(sales_db, day, datetime(2026, 11, 2, tzinfo=UTC), tmp_path / "in.parquet") == 4
    assert pd.read_parquet(tmp_path / "in.parquet")["ts"].str.startswith("2026-11-02").all()
