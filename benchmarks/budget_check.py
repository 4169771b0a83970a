"""How much training the default needs: budget variants scored on held-out rows that are never test rows.

    python benchmarks/budget_check.py                                   # public tables under 5,000 rows, seed 0
    python benchmarks/budget_check.py --tables abalone-4177 --variants "members 2=model.ensemble_size=2"

Each public table (benchmarks/public_tables.py) is split as the suite splits it (test 0.2,
validation 0.1 of the rest, seeded by the split seed) and its test rows are set aside
unread. regress then trains on the remaining rows, as `regress train --data FILE` would with
each variant's configuration overrides: it splits them again, and the R2 it reports on its own
held-out part is, for the table, a validation score. A variant that trains less is kept only
if that score holds. Prints validation R2 and training seconds per table and variant, and
their means.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

VARIANTS = {
    "default": "",
    "members 2": "model.ensemble_size=2",
    "folds 3": "train.cv_folds=3",
    "epochs 50": "train.max_epochs=50",
    "members 2, epochs 50": "model.ensemble_size=2,train.max_epochs=50",
}
MAX_ROWS = 5000


def parse_variants(values: list[str] | None) -> dict[str, list[str]]:
    """NAME=OVERRIDES pairs (overrides comma-separated) or the default set."""
    pairs = dict(value.split("=", 1) for value in values) if values else VARIANTS
    return {name: [part for part in overrides.split(",") if part] for name, overrides in pairs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tables", help="comma-separated table names (default: every public table under 5,000 rows)")
    parser.add_argument("--seed", type=int, default=0, help="split seed of the set-aside test rows")
    parser.add_argument("--variants", nargs="*", help='"NAME=key=value,key=value" (default: the built-in set)')
    args = parser.parse_args()

    import pandas as pd

    from benchmarks.public_tables import PUBLIC_TABLES
    from benchmarks.regress_runs import train_csv_and_score
    from regress_core.data.split import split_frame

    names = args.tables.split(",") if args.tables else None
    tables = [t for t in PUBLIC_TABLES if (t.name in names if names else len(t.load()) < MAX_ROWS)]
    variants = parse_variants(args.variants)
    rows: dict[str, dict[str, tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="regress-budget-") as tmp:
        for table in tables:
            parts = split_frame(table.load(), test_size=0.2, val_size=0.1, seed=args.seed)
            source = Path(tmp) / f"{table.name}.csv"
            # The test rows are set aside here and never read again.
            pd.concat([parts.train, parts.val]).to_csv(source, index=False)
            rows[table.name] = {}
            for name, overrides in variants.items():
                workdir = Path(tmp) / f"{table.name}-{len(rows[table.name])}"
                workdir.mkdir()
                result = train_csv_and_score(
                    source,
                    table.target,
                    workdir=workdir,
                    split_seed=args.seed,
                    train_seed=args.seed,
                    overrides=overrides,
                )
                rows[table.name][name] = (result["metrics"]["r2"], result["seconds"])
                print(
                    f"  {table.name} {name}: R2 {result['metrics']['r2']:.4f} in {result['seconds']:.1f} s "
                    f"({result['chosen']})",
                    flush=True,
                )
    print_table(rows, list(variants))


def print_table(rows: dict[str, dict[str, tuple[float, float]]], variants: list[str]) -> None:
    width = max(len(name) for name in variants) + 2
    print("\nvalidation R2 / training seconds")
    print(f"{'table':<22}" + "".join(f"{name:>{width + 8}}" for name in variants))
    for table, results in rows.items():
        cells = "".join(f"{results[v][0]:>{width}.4f}{results[v][1]:>7.1f}s" for v in variants)
        print(f"{table:<22}{cells}")
    means = "".join(
        f"{statistics.fmean(r[v][0] for r in rows.values()):>{width}.4f}"
        f"{statistics.fmean(r[v][1] for r in rows.values()):>7.1f}s"
        for v in variants
    )
    print(f"{'mean':<22}{means}")


if __name__ == "__main__":
    main()
