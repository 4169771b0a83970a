"""Write daily partitions of California Housing rows, each with a time column `ts`, for a moving window.

Day N of the period gets rows 12N to 12N+11 of the bundled table, two hours apart, as
`FOLDER/dt=YYYY-MM-DD/part.parquet`; the days are counted from 2026-10-01, so a day keeps its rows
whenever it is written.

    .venv/bin/python examples/dated_partitions.py FOLDER FIRST_DAY LAST_DAY
    .venv/bin/python examples/dated_partitions.py /tmp/sales 2026-10-01 2026-11-29
"""

from __future__ import annotations

import sys
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from regress_core.data.sources import bundled_path

ROWS_A_DAY = 12
ORIGIN = date(2026, 10, 1)


def write_partitions(folder: Path, first: date, last: date) -> list[Path]:
    """Write one Parquet partition a day from `first` to `last` (inclusive); return their paths."""
    table = pd.read_csv(bundled_path("california_housing"))
    written = []
    day = first
    while day <= last:
        start = (day - ORIGIN).days * ROWS_A_DAY % (len(table) - ROWS_A_DAY)
        part = table.iloc[start : start + ROWS_A_DAY].copy()
        part["ts"] = [pd.Timestamp(day) + pd.Timedelta(hours=2 * hour) for hour in range(ROWS_A_DAY)]
        path = folder / f"dt={day.isoformat()}" / "part.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        part.to_parquet(path, index=False)
        written.append(path)
        day += timedelta(days=1)
    return written


def main() -> None:
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    folder, first, last = Path(sys.argv[1]), date.fromisoformat(sys.argv[2]), date.fromisoformat(sys.argv[3])
    written = write_partitions(folder, first, last)
    print(f"wrote {len(written)} partitions of {ROWS_A_DAY} rows in {folder}")


if __name__ == "__main__":
    main()
