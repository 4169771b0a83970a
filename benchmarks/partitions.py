"""Partition pruning: reading a 30-day window of a year of daily partitions, against reading the whole year.

    python benchmarks/partitions.py                         # 365 days of 2,000 rows, best of 3
    python benchmarks/partitions.py --days 60 --rows-per-day 200 --repeat 1   # a quick check

Writes `--days` daily partitions `dt=YYYY-MM-DD/part.parquet` (a timestamp and nine float
columns) into a temporary folder, then reads them as a training run does: `open_source` with
the `{date}` template and a window ending at the day after the last partition, then the
source's fingerprint (the hash of each file read) and its rows. A window of `--window` days
should cost about window/days of the whole year, because only the window's days are looked up:
the folder is never listed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from regress_core.data.sources import open_source, read_source  # noqa: E402
from regress_core.data.window import Window  # noqa: E402

FIRST_DAY = date(2025, 12, 1)


def write_year(folder: Path, days: int, rows_per_day: int) -> None:
    """`days` daily Parquet partitions of `rows_per_day` rows each."""
    rng = np.random.default_rng(0)
    for offset in range(days):
        day = FIRST_DAY + timedelta(days=offset)
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        seconds = np.sort(rng.integers(0, 86_400, rows_per_day))
        columns = {"ts": pa.array([start + timedelta(seconds=int(s)) for s in seconds], pa.timestamp("us", "UTC"))}
        columns |= {f"x{index}": rng.normal(size=rows_per_day) for index in range(8)}
        columns["y"] = rng.normal(size=rows_per_day)
        target = folder / f"dt={day.isoformat()}" / "part.parquet"
        target.parent.mkdir(parents=True)
        pq.write_table(pa.table(columns), target)


def pruned(template: str, days: int, window_days: int) -> Callable[[], int]:
    """A training run's read of the last `window_days` days: only those days' files are looked up."""
    as_of = datetime.combine(FIRST_DAY + timedelta(days=days), datetime.min.time(), tzinfo=UTC)
    window = Window(as_of - timedelta(days=window_days), as_of)

    def read() -> int:
        source = open_source(template, window=window, as_of=as_of)
        source.fingerprint()
        return read_source(source).num_rows

    return read


def best_of(read: Callable[[], int], repeat: int) -> tuple[float, int]:
    times, rows = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        rows = read()
        times.append(time.perf_counter() - started)
    return min(times), rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365, help="daily partitions to write (default 365)")
    parser.add_argument("--window", type=int, default=30, help="days of the pruned window (default 30)")
    parser.add_argument("--rows-per-day", type=int, default=2000, help="rows in each partition (default 2000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each read; the best is shown (default 3)")
    args = parser.parse_args()
    if not 0 < args.window < args.days:
        parser.error("--window must be between 1 and --days - 1")
    with tempfile.TemporaryDirectory(prefix="regress-partitions-") as scratch:
        folder = Path(scratch)
        write_year(folder, args.days, args.rows_per_day)
        template = str(folder / "dt={date}" / "part.parquet")
        cases = [
            (f"all {args.days} days", pruned(template, args.days, args.days), args.days),
            (f"{args.window}-day window (pruned)", pruned(template, args.days, args.window), args.window),
        ]
        results = [(name, *best_of(read, args.repeat), days) for name, read, days in cases]
    whole = results[0][1]
    print(f"{args.days} daily partitions of {args.rows_per_day:,} rows; best of {args.repeat}")
    print(f"{'read':<36}{'days':>6}{'rows':>11}{'seconds':>10}{'of all':>9}{'days/all':>10}")
    for name, seconds, rows, days in results:
        print(f"{name:<36}{days:>6}{rows:>11,}{seconds:>10.3f}{seconds / whole:>9.3f}{days / args.days:>10.3f}")


if __name__ == "__main__":
    main()
