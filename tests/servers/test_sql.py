"""A real PostgreSQL server as a source and a sink: ADBC and SQLAlchemy alike, logins, failures, a CLI run.

The role `regress` logs in with a password (scram-sha-256) over 127.0.0.1; the password lives
only in the environment of the reads and the command, and is looked for afterwards everywhere
a run writes: the workspace, the command's output and the Prefect server's home.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import psycopg
import pytest

from regress_core.config import build_config
from regress_core.data.sources import bundled_path, read_window
from regress_core.data.sql import engine_name, parse_sql_url, read_arrow, use_password
from regress_core.errors import ConfigError, ServiceError
from regress_core.pipeline.data_stages import data_source
from regress_core.scoring.sql_io import write_sql_predictions
from tests.flows.test_moving_window import split_rows
from tests.helpers import model_registry, regress
from tests.servers.postgres import find_postgres_bin, psql
from tests.servers.servers import HOST

ROWS_A_DAY = 12
AS_OF = datetime(2026, 11, 30, tzinfo=UTC)


@dataclass(frozen=True)
class SalesDatabase:
    url: str  # no password in it
    password: str


def sales_frame() -> pd.DataFrame:
    """60 days of California rows from 2026-10-01, 12 a day, with a `ts` column."""
    rows = pd.read_csv(bundled_path("california_housing")).iloc[: 60 * ROWS_A_DAY].copy()
    start = pd.Timestamp("2026-10-01")
    rows["ts"] = [start + pd.Timedelta(hours=2 * index) for index in range(len(rows))]
    return rows


@pytest.fixture(scope="session")
def sales_db(postgres) -> SalesDatabase:
    """Database `sales` owned by role `regress`, which must log in with a password; table `sales`."""
    bin_dir = find_postgres_bin()
    assert bin_dir is not None
    admin = postgres.replace("postgresql+asyncpg://", "postgresql://").rsplit("/", 1)[0] + "/postgres"
    password = f"pw-{secrets.token_hex(12)}"
    psql(bin_dir, admin, f"CREATE ROLE regress LOGIN PASSWORD '{password}'")
    psql(bin_dir, admin, "CREATE DATABASE sales OWNER regress")
    hba = Path(psql(bin_dir, admin, "SHOW hba_file"))
    hba.write_text(f"host all regress {HOST}/32 scram-sha-256\n{hba.read_text()}")
    psql(bin_dir, admin, "SELECT pg_reload_conf()")
    port = parse_sql_url(admin.replace("postgresql://", "postgresql+psycopg://")).port
    frame = sales_frame()
    columns = ", ".join(f'"{name}" double precision' for name in frame.columns if name != "ts")
    with psycopg.connect(host=HOST, port=port, user="regress", password=password, dbname="sales") as connection:
        connection.execute(f"CREATE TABLE sales ({columns}, ts timestamp)")
        with connection.cursor().copy(
            f"COPY sales ({', '.join(f'{chr(34)}{c}{chr(34)}' for c in frame.columns)}) FROM STDIN"
        ) as copy:
            for row in frame.itertuples(index=False):
                copy.write_row(row)
    return SalesDatabase(f"postgresql+psycopg://regress@{HOST}:{port}/sales", password)


def window_settings(url: str, *settings: str):
    overrides = [f"data.source={url}", "data.target=MedHouseVal", "data.time_column=ts", "data.window=30d"]
    return build_config(overrides=[*overrides, *settings]).data


def test_adbc_and_sqlalchemy_read_the_same_window(sales_db, monkeypatch):
    monkeypatch.setenv("REGRESS_DB_PASSWORD", sales_db.password)
    source = data_source(window_settings(sales_db.url, "data.table=sales"), AS_OF)
    assert engine_name(parse_sql_url(sales_db.url)) == "adbc"
    table, summary = read_window(source)
    assert table.num_rows == summary["rows"] == 30 * ROWS_A_DAY
    inner = source.inner
    by_sqlalchemy = read_arrow(sales_db.url, inner.sql(), inner.params(), engine="sqlalchemy")
    assert by_sqlalchemy.equals(inner.read())


def test_the_password_may_come_from_the_drivers_own_environment(sales_db, monkeypatch):
    monkeypatch.delenv("REGRESS_DB_PASSWORD", raising=False)
    monkeypatch.setenv("PGPASSWORD", sales_db.password)
    for engine in ("adbc", "sqlalchemy"):
        assert read_arrow(sales_db.url, "SELECT count(*) AS n FROM sales", engine=engine).column(0).to_pylist() == [720]


@pytest.mark.parametrize("engine", ["adbc", "sqlalchemy"])
def test_a_failed_login_is_one_line_without_the_password(sales_db, monkeypatch, engine):
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("REGRESS_DB_PASSWORD", "wrong-pw-7f3a")
    with pytest.raises(ServiceError) as caught:
        read_arrow(sales_db.url, "SELECT 1", engine=engine)
    message = str(caught.value)
    assert message.startswith(f"the database at {HOST}:")
    assert "refused the login of 'regress'" in message
    assert "password authentication failed" in message
    assert "wrong-pw-7f3a" not in message
    assert sales_db.password not in message
    assert "\n" not in message


@pytest.mark.parametrize("engine", ["adbc", "sqlalchemy"])
def test_an_unknown_table_and_a_slow_query_are_one_line(sales_db, monkeypatch, engine):
    monkeypatch.setenv("REGRESS_DB_PASSWORD", sales_db.password)
    with pytest.raises(ConfigError, match=r'unknown table or column in .*: relation "nope" does not exist$'):
        read_arrow(sales_db.url, "SELECT * FROM nope", engine=engine)
    monkeypatch.setenv("REGRESS_DB_TIMEOUT_S", "0.2")
    with pytest.raises(ServiceError, match=r"ran past its time limit \(0.2 s\): canceling statement due to statement"):
        read_arrow(sales_db.url, "SELECT s.* FROM sales s, (SELECT pg_sleep(2)) AS z", engine=engine)


def test_a_secret_blocks_password_is_handed_in(sales_db, monkeypatch, prefect_server):
    from prefect.blocks.system import Secret

    from tasks.database import apply_database_secret

    monkeypatch.delenv("REGRESS_DB_PASSWORD", raising=False)
    monkeypatch.delenv("PGPASSWORD", raising=False)
    Secret(value=sales_db.password).save("regress-sales-db", overwrite=True)
    try:
        apply_database_secret("regress-sales-db")
        assert read_arrow(sales_db.url, "SELECT count(*) AS n FROM sales").column(0).to_pylist() == [720]
    finally:
        use_password(None)
    with pytest.raises(ConfigError, match="the Prefect server has no Secret block named 'no-such-block'"):
        apply_database_secret("no-such-block")


def test_predictions_replace_their_day_in_postgres(sales_db, monkeypatch):
    monkeypatch.setenv("REGRESS_DB_PASSWORD", sales_db.password)
    frame = pd.DataFrame({"house_id": range(100), "prediction": [0.5] * 100})
    for day in ("2026-12-01", "2026-12-02", "2026-12-01"):
        write_sql_predictions(sales_db.url, "predictions", frame, day)
    counts = read_arrow(sales_db.url, "SELECT as_of, count(*) AS n FROM predictions GROUP BY as_of ORDER BY as_of")
    assert counts.to_pydict() == {"as_of": ["2026-12-01", "2026-12-02"], "n": [100, 100]}


def files_holding(folder: Path, secret: bytes) -> list[str]:
    return [str(path) for path in folder.rglob("*") if path.is_file() and secret in path.read_bytes()]


def test_training_from_postgres_leaves_the_password_nowhere(sales_db, monkeypatch, tmp_path, prefect_server):
    from prefect.settings import PREFECT_HOME, PREFECT_SERVER_DATABASE_CONNECTION_URL

    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("REGRESS_DB_PASSWORD", sales_db.password)
    home = tmp_path / "home"
    train = ["train", "--data", sales_db.url, "--target", "MedHouseVal", "--preset", "linear"]
    settings = ["--set", "data.table=sales", "--set", "data.time_column=ts", "--set", "data.window=30d"]
    done = regress(*train, *settings, "--as-of", AS_OF.date().isoformat(), home=str(home))
    assert done.returncode == 0, done.stderr
    assert split_rows(done.stdout + done.stderr) == 30 * ROWS_A_DAY
    assert "window 2026-10-31 00:00 to 2026-11-30 00:00 UTC: 360 rows" in done.stdout
    assert model_registry(str(home), "sales").versions() == ["v0001"]
    secret = sales_db.password.encode()
    assert secret not in (done.stdout + done.stderr).encode()
    database = Path(str(PREFECT_SERVER_DATABASE_CONNECTION_URL.value()).split(":///", 1)[1])
    # The server's database holds the run (its parameters name the source): it is searched where the run is.
    assert files_holding(database.parent, sales_db.url.encode())
    for folder in (home, database.parent, Path(str(PREFECT_HOME.value())), Path(os.environ["PREFECT_HOME"])):
        assert files_holding(folder, secret) == [], f"the password is in files under {folder}"
