"""A nightly retrain on a newer snapshot: the champion comparison leaves out rows either model has seen.

Two snapshots of scikit-learn's Friedman #1 table (2,500 rows, noise 1.0): the first holds rows
0-1999, the newer one rows 500-2499, so 1,500 rows are in both. Each is trained with the
defaults; the second run's decision shows how many test rows the comparison used and the
bootstrap interval of the RMSE difference.

    .venv/bin/python examples/newer_snapshot.py [WORKSPACE]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pandas as pd
from sklearn.datasets import make_friedman1

from regress_core.config import build_config
from regress_core.pipeline.run import train_pipeline


def main() -> None:
    home = Path(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="regress-snapshots-"))
    x, y = make_friedman1(n_samples=2500, noise=1.0, random_state=0)
    table = pd.DataFrame(x, columns=[f"x{i}" for i in range(10)]).assign(y=y)
    source = home / "friedman.csv"
    home.mkdir(parents=True, exist_ok=True)
    for snapshot in (table.iloc[:2000], table.iloc[500:]):
        snapshot.to_csv(source, index=False)
        config = build_config(values={"data": {"source": str(source), "target": "y"}, "registry": {"home": str(home)}})
        _, decision = train_pipeline(config)
        print(decision.summary)
        for check in decision.checks:
            print(f"  [{'pass' if check.passed else 'FAIL'}] {check.text}")


if __name__ == "__main__":
    main()
