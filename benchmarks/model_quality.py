"""Model quality on California Housing: regress presets next to scikit-learn, same split.

    python benchmarks/model_quality.py            # full run: default x3 seeds, notebook, linear, sklearn peers
    python benchmarks/model_quality.py --quick    # a small subsample and few epochs, to check the script works

Everything trains on the same rows: the test set is train_test_split(test_size=0.2,
random_state=42) of the bundled data; regress trains as `regress train` does (its stages on
a temporary workspace) and carves its validation rows from the training part; the
scikit-learn models fit on the whole training part. For many tables, see model_suite.py.
Prints RMSE, MAE, R2 (test, target units) and fit seconds, and writes them as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def fit_regress(df: pd.DataFrame, preset: str, *, seed: int, quick: bool) -> tuple[dict[str, float], float, str]:
    """Train a preset as `regress train` does; return test metrics, training seconds and precision."""
    import tempfile

    from benchmarks.regress_runs import train_and_score
    from regress_core.data.sources import default_contract

    contract = default_contract("california_housing")
    assert contract is not None
    with tempfile.TemporaryDirectory(prefix="regress-quality-") as tmp:
        result = train_and_score(
            df,
            contract,
            workdir=Path(tmp),
            preset=preset,
            train_seed=seed,
            overrides=["train.max_epochs=3"] if quick else [],
        )
    return result["metrics"], result["seconds"], result["precision"]


def fit_sklearn(df, name: str, *, quick: bool) -> tuple[dict[str, float], float]:
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.linear_model import LinearRegression
    from sklearn.model_selection import train_test_split

    from regress_core.evaluation.metrics import regression_metrics

    models = {
        "sklearn LinearRegression": lambda: LinearRegression(),
        "sklearn HistGradientBoosting, defaults": lambda: HistGradientBoostingRegressor(random_state=0),
        # The reference 'tuned' settings; scikit-learn's default early stopping (on above
        # 10,000 rows) holds out 10% of the rows and stops when they stop improving.
        "sklearn HistGradientBoosting, tuned": lambda: HistGradientBoostingRegressor(
            max_iter=50 if quick else 1000, learning_rate=0.05, max_leaf_nodes=63, random_state=0
        ),
        "sklearn HistGradientBoosting, tuned, all iterations": lambda: HistGradientBoostingRegressor(
            max_iter=50 if quick else 1000, learning_rate=0.05, max_leaf_nodes=63, early_stopping=False, random_state=0
        ),
    }
    train, test = train_test_split(df, test_size=0.2, random_state=42)
    features = [c for c in df.columns if c != "MedHouseVal"]
    started = time.perf_counter()
    model = models[name]().fit(train[features], train["MedHouseVal"])
    seconds = time.perf_counter() - started
    return regression_metrics(test["MedHouseVal"].to_numpy(), model.predict(test[features])), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="2,000-row subsample, 3 epochs: checks the script, not the model"
    )
    parser.add_argument("--seeds", type=int, default=3, help="seeds of the default preset")
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "model_quality.json"))
    args = parser.parse_args()
    import torch

    from regress_core.data.sources import load_source

    df = load_source("california_housing")
    if args.quick:
        df = df.sample(2000, random_state=0)
    rows = []
    for seed in range(args.seeds):
        metrics, seconds, precision = fit_regress(df, "default", seed=seed, quick=args.quick)
        rows.append({"model": f"regress default (seed {seed})", **metrics, "seconds": seconds, "precision": precision})
        print(f"default seed {seed}: RMSE {metrics['rmse']:.4f} in {seconds:.1f} s", flush=True)
    defaults = rows[:]
    rows.append(
        {
            "model": f"regress default (mean of {args.seeds})",
            **{k: sum(r[k] for r in defaults) / len(defaults) for k in ("mse", "rmse", "mae", "r2", "seconds")},
        }
    )
    for preset in ("notebook", "linear"):
        metrics, seconds, precision = fit_regress(df, preset, seed=0, quick=args.quick)
        rows.append({"model": f"regress {preset}", **metrics, "seconds": seconds, "precision": precision})
    for name in (
        "sklearn LinearRegression",
        "sklearn HistGradientBoosting, defaults",
        "sklearn HistGradientBoosting, tuned",
        "sklearn HistGradientBoosting, tuned, all iterations",
    ):
        metrics, seconds = fit_sklearn(df, name, quick=args.quick)
        rows.append({"model": name, **metrics, "seconds": seconds})
    print(f"\n{'model':<54}{'RMSE':>8}{'MAE':>8}{'R2':>8}{'fit s':>9}")
    for row in rows:
        print(f"{row['model']:<54}{row['rmse']:>8.4f}{row['mae']:>8.4f}{row['r2']:>8.4f}{row['seconds']:>9.1f}")
    precision = defaults[0]["precision"]
    print(f"torch threads: {torch.get_num_threads()}; default preset trains in {precision} on this machine")
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {"quick": args.quick, "rows": rows, "threads": torch.get_num_threads(), "precision": precision}, indent=2
        )
    )


if __name__ == "__main__":
    main()
