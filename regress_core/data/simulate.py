"""Simulated daily arrivals: the bundled California rows spread over days, each with its time.

A scheduled pipeline needs data that keeps arriving. `simulate_days` deals the bundled rows
out over consecutive days (a seeded shuffle, so no row repeats while the rows last), gives
each one a time within its day (column `ts`, naive UTC), and with `drift` shifts the features
and the target a little more each day. `write_partitions` writes one Parquet file a day
(`DIR/dt=YYYY-MM-DD/part.parquet`), `write_sqlite_table` one table; both give the same rows
for the same arguments.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from regress_core.data.sources.bundled import bundled_path
from regress_core.data.tables import write_parquet
from regress_core.errors import ConfigError, DataError

TIME_COLUMN = "ts"
TARGET = "MedHouseVal"
SQLITE_PREFIX = "sqlite:///"
SECONDS_A_DAY = 86_400
MAX_DAYS = 3660


@dataclass(frozen=True)
class Simulation:
    """What to simulate.

    Attributes:
        start: The first day.
        days: How many consecutive days.
        rows_per_day: Rows each day; None: the bundled rows shared out evenly.
        drift: How far the last day has moved: every column (target included) shifted by this
            many of its standard deviations, the days between shifted in proportion; 0 keeps the data as it is.
        seed: Seed of the shuffle and the times.
    """

    start: date
    days: int
    rows_per_day: int | None = None
    drift: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.days <= MAX_DAYS:
            raise ConfigError(f"--days must be between 1 and {MAX_DAYS}, got {self.days}")
        if self.rows_per_day is not None and self.rows_per_day < 1:
            raise ConfigError(f"--rows-per-day must be at least 1, got {self.rows_per_day}")
        if not 0.0 <= self.drift <= 1.0:
            raise ConfigError(f"--drift must be between 0.0 and 1.0, got {self.drift}")

    @property
    def end(self) -> date:
        """The last day simulated."""
        return self.start + timedelta(days=self.days - 1)


def simulate_days(simulation: Simulation) -> list[tuple[date, pd.DataFrame]]:
    """Each day with its rows: the bundled columns and `ts`, a time within that day, in time order.

    Rows are dealt from one seeded shuffle of the bundled table, so no row appears twice until
    every row has been used once.
    """
    california = pd.read_csv(bundled_path("california_housing"))
    per_day = simulation.rows_per_day or max(1, len(california) // simulation.days)
    rng = np.random.default_rng(simulation.seed)
    order = rng.permutation(len(california))
    scale = california.std(numeric_only=True)
    result = []
    for index in range(simulation.days):
        day = simulation.start + timedelta(days=index)
        positions = order[(index * per_day + np.arange(per_day)) % len(california)]
        rows = california.iloc[positions].reset_index(drop=True)
        progress = index / max(simulation.days - 1, 1)
        if simulation.drift:
            rows = rows + simulation.drift * progress * scale
        seconds = np.sort(rng.integers(0, SECONDS_A_DAY, per_day))
        rows[TIME_COLUMN] = pd.Timestamp(day) + pd.to_timedelta(seconds, unit="s")
        result.append((day, rows))
    return result


def write_partitions(simulation: Simulation, folder: str | Path) -> list[Path]:
    """Write each day's rows to `folder/dt=YYYY-MM-DD/part.parquet`, replacing files already there.

    Raises:
        DataError: the folder is a file, or cannot be written.
    """
    root = Path(folder).expanduser()
    if root.exists() and not root.is_dir():
        raise DataError(f"--to {folder} is a file, not a folder")
    written = []
    try:
        for day, rows in simulate_days(simulation):
            written.append(write_parquet(rows, root / f"dt={day.isoformat()}" / "part.parquet"))
    except OSError as exc:
        raise DataError(f"cannot write the partitions under {folder}: {exc.strerror or exc}") from exc
    return written


def sqlite_path(url: str) -> Path:
    """The database file of an `sqlite:///path.db` URL (four slashes for an absolute path).

    Raises:
        ConfigError: another kind of URL, or one without a file.
    """
    if not url.startswith(SQLITE_PREFIX) or not url[len(SQLITE_PREFIX) :].strip():
        raise ConfigError(f"--to {url} is not a folder or an SQLite URL such as sqlite:///sales.db")
    return Path(url[len(SQLITE_PREFIX) :]).expanduser()


def write_sqlite_table(simulation: Simulation, url: str, *, table: str = "sales") -> int:
    """Replace `table` in the SQLite database at `url` with the simulated rows; `ts` is text (`YYYY-MM-DD HH:MM:SS`).

    The table is dropped, made and filled in one transaction, with an index on `ts`.

    Returns:
        The rows written.

    Raises:
        ConfigError: a table name that is not a plain identifier, or a URL that is not SQLite's.
        DataError: the database cannot be written.
    """
    if not table.isidentifier():
        raise ConfigError(f"--table {table!r} is not a plain table name (letters, digits, underscores)")
    path = sqlite_path(url)
    frames = [rows for _, rows in simulate_days(simulation)]
    df = pd.concat(frames, ignore_index=True)
    df[TIME_COLUMN] = df[TIME_COLUMN].dt.strftime("%Y-%m-%d %H:%M:%S")
    columns = ", ".join(f'"{name}" {"TEXT" if name == TIME_COLUMN else "REAL"}' for name in df.columns)
    marks = ", ".join("?" for _ in df.columns)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(path) as connection:
            connection.execute(f'DROP TABLE IF EXISTS "{table}"')
            connection.execute(f'CREATE TABLE "{table}" ({columns})')
            connection.executemany(f'INSERT INTO "{table}" VALUES ({marks})', df.itertuples(index=False, name=None))
            connection.execute(f'CREATE INDEX "{table}_{TIME_COLUMN}" ON "{table}" ("{TIME_COLUMN}")')
        connection.close()
    except (sqlite3.Error, OSError) as exc:
        raise DataError(f"cannot write table {table} to {url}: {exc}") from exc
    return len(df)
