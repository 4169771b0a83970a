"""Model quality over a suite of tables: regress's default next to scikit-learn, same splits.

    python benchmarks/model_suite.py                     # every table, split seeds 0, 1, 2 (about 10 minutes)
    python benchmarks/model_suite.py --tables linear-100,diabetes-442 --seeds 0
    python benchmarks/model_suite.py --suite public      # real public tables against CatBoost and others
    python benchmarks/model_suite.py --suite public --quick   # two small tables, split seed 0, no pytabkit

The public suite (benchmarks/public_suite.py; tables in benchmarks/public_tables.py) needs
the `bench` extra (CatBoost, LightGBM and the packages that ship the tables); pytabkit's
RealMLP-TD and TabM-D join it where the `bench-nn` extra is installed (`--no-nn` leaves them out).

For each table and split seed, regress trains with its default configuration exactly as
`regress train --data FILE` does (the pipeline's own stages on a temporary workspace: the
project split with test 0.2 and validation 0.1 of the rest, seeded by the split seed;
training seed = split seed). LinearRegression and HistGradientBoosting (defaults, and tuned:
1000 iterations, learning rate 0.05, 63 leaves) fit on the same non-test rows. Every model
is scored on the same test rows, which nothing chooses on. Prints mean test R2 and RMSE over
the seeds, regress's fit seconds and the candidate it chose, and writes them as JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

if TYPE_CHECKING:
    from benchmarks.suite_tables import SuiteTable
    from regress_core.data.contract import DataContract

PEERS = ("LinearRegression", "HGB defaults", "HGB tuned")


def peer_models(contract: DataContract) -> dict[str, Any]:
    """LinearRegression and HistGradientBoosting as a careful user would set them up for this contract."""
    import numpy as np
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

    numeric, categorical = contract.names_of("numeric"), contract.names_of("categorical")
    linear_branches = [("numeric", SimpleImputer(strategy="median"), numeric)] if numeric else []
    tree_branches = [("numeric", "passthrough", numeric)] if numeric else []
    if categorical:
        one_hot = make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore"))
        linear_branches.append(("categorical", one_hot, categorical))
        codes = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan, encoded_missing_value=np.nan)
        tree_branches.append(("categorical", codes, categorical))
    # HistGradientBoosting handles up to 255 categories natively; larger ones stay ordinal codes.
    native = [False] * len(numeric) + [len(contract.column(c).categories or []) <= 250 for c in categorical]

    def boosting(**settings: Any) -> Any:
        model = HistGradientBoostingRegressor(
            categorical_features=native if any(native) else None, random_state=0, **settings
        )
        return make_pipeline(ColumnTransformer(tree_branches), model)

    return {
        "LinearRegression": make_pipeline(ColumnTransformer(linear_branches), LinearRegression()),
        "HGB defaults": boosting(),
        "HGB tuned": boosting(max_iter=1000, learning_rate=0.05, max_leaf_nodes=63),
    }


def run_table(table: SuiteTable, seeds: list[int]) -> dict[str, Any]:
    import pandas as pd

    from benchmarks.regress_runs import train_and_score
    from regress_core.data.contract import normalize_frame
    from regress_core.evaluation.metrics import regression_metrics

    df, contract = table.load()
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in ("regress", *PEERS)}
    seconds, chosen = [], []
    for seed in seeds:
        with tempfile.TemporaryDirectory(prefix="regress-suite-") as tmp:
            result = train_and_score(df, contract, split_seed=seed, train_seed=seed, workdir=Path(tmp))
        runs["regress"].append(result["metrics"])
        seconds.append(result["seconds"])
        chosen.append(result["chosen"])
        fit_rows = pd.concat([result["train"], result["val"]])
        features, target = contract.feature_names, contract.target
        y_test = result["test"][target].to_numpy(dtype="float64")
        for name, model in peer_models(contract).items():
            model.fit(normalize_frame(fit_rows[features], contract), fit_rows[target].to_numpy(dtype="float64"))
            prediction = model.predict(normalize_frame(result["test"][features], contract))
            runs[name].append(regression_metrics(y_test, prediction))
        print(
            f"  {table.name} seed {seed}: regress {result['metrics']['r2']:.4f} ({result['chosen']}, "
            f"{result['seconds']:.1f} s); " + ", ".join(f"{name} {runs[name][-1]['r2']:.4f}" for name in PEERS),
            flush=True,
        )
    return {
        "table": table.name,
        "about": table.about,
        "rows": len(df),
        **{f"{name} r2": statistics.fmean(m["r2"] for m in runs[name]) for name in runs},
        **{f"{name} rmse": statistics.fmean(m["rmse"] for m in runs[name]) for name in runs},
        "regress seconds": statistics.fmean(seconds),
        "chosen": chosen,
        "seeds": seeds,
    }


def print_table(rows: list[dict[str, Any]]) -> None:
    from benchmarks.suite_tables import parabola_noise_ceiling

    header = f"{'table':<18}{'regress':>9}{'LinReg':>9}{'HGB':>9}{'HGB tuned':>10}{'margin':>9}  {'fit s':>6}  chosen"
    print("\nmean test R2 over split seeds (margin: regress minus the best peer)\n" + header)
    wins = 0
    for row in rows:
        best_peer = max(float(row[f"{name} r2"]) for name in PEERS)
        margin = float(row["regress r2"]) - best_peer
        wins += margin >= 0
        print(
            f"{row['table']:<18}{row['regress r2']:>9.4f}{row['LinearRegression r2']:>9.4f}"
            f"{row['HGB defaults r2']:>9.4f}{row['HGB tuned r2']:>10.4f}{margin:>+9.4f}  "
            f"{row['regress seconds']:>6.1f}  {', '.join(row['chosen'])}"
        )
    print(f"regress is best on {wins} of {len(rows)} tables; parabola noise ceiling R2 {parabola_noise_ceiling():.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", choices=("standard", "public"), default="standard", help="which tables")
    parser.add_argument("--tables", help="comma-separated table names (default: all)")
    parser.add_argument("--seeds", help="split seeds (default 0,1,2; 0 with --quick)")
    parser.add_argument(
        "--quick", action="store_true", help="public suite: a smoke test on two small tables, without pytabkit's models"
    )
    parser.add_argument("--no-nn", action="store_true", help="public suite: leave out RealMLP-TD and TabM-D")
    parser.add_argument("--json", help="results file (default: benchmarks/results/model_suite[_public].json)")
    args = parser.parse_args()
    if args.suite == "public":
        main_public(parser, args)
        return
    from benchmarks.suite_tables import TABLES

    args.seeds = args.seeds or "0,1,2"
    args.json = args.json or str(ROOT / "benchmarks" / "results" / "model_suite.json")
    import torch

    names = args.tables.split(",") if args.tables else [table.name for table in TABLES]
    unknown = sorted(set(names) - {table.name for table in TABLES})
    if unknown:
        parser.error(f"unknown tables: {', '.join(unknown)}")
    seeds = [int(seed) for seed in args.seeds.split(",")]
    rows = [run_table(table, seeds) for table in TABLES if table.name in names]
    print_table(rows)
    print(f"torch threads: {torch.get_num_threads()}")
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"rows": rows, "threads": torch.get_num_threads()}, indent=2))


def main_public(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    from benchmarks.public_peers import nn_available
    from benchmarks.public_suite import run_suite
    from benchmarks.public_tables import PUBLIC_TABLES, QUICK_TABLES

    known = [table.name for table in PUBLIC_TABLES]
    names = args.tables.split(",") if args.tables else list(QUICK_TABLES if args.quick else known)
    unknown = sorted(set(names) - set(known))
    if unknown:
        parser.error(f"unknown tables: {', '.join(unknown)} (public tables: {', '.join(known)})")
    seeds = [int(seed) for seed in (args.seeds or ("0" if args.quick else "0,1,2")).split(",")]
    # pytabkit's models take minutes even on a few hundred rows on 2 cores: a smoke test leaves them out.
    with_nn = not (args.no_nn or args.quick) and nn_available()
    if not (args.no_nn or args.quick) and not with_nn:
        print("pytabkit is not installed (the bench-nn extra): RealMLP-TD and TabM-D left out")
    json_path = Path(args.json or ROOT / "benchmarks" / "results" / "model_suite_public.json")
    run_suite([table for table in PUBLIC_TABLES if table.name in names], seeds, with_nn=with_nn, json_path=json_path)


if __name__ == "__main__":
    main()
