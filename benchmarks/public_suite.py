"""The public-table suite: regress's default against CatBoost, LightGBM, HGB and LR on real tables.

Run through `python benchmarks/model_suite.py --suite public` (see there for the options).

For each table and split seed, the table is written as a CSV file and regress trains on it
as `regress train --data FILE.csv --target COL` does: it reads the file, infers the contract
and splits it (test 0.2, validation 0.1 of the rest, seeded by the split seed; training seed
= split seed). The peers (benchmarks/public_peers.py) read the same file back with regress's
reader, take the same split, fit on the training and validation rows together and are scored
on the same test rows, which nothing chooses on. Fit seconds: regress's training stage; each
peer's input preparation and fit.
"""

from __future__ import annotations

import json
import statistics
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.public_peers import column_roles, peer_fits, peer_frames, run_peer, table_kinds
from benchmarks.public_tables import PublicTable

CATBOOST_MARGIN = 0.02
LINEAR_MARGIN = 0.005


def run_regress(source: Path, target: str, seed: int, workdir: Path) -> dict[str, Any]:
    """regress's test R2, RMSE, fit seconds and choice on one split, or the error it stopped with."""
    from benchmarks.regress_runs import train_csv_and_score

    try:
        result = train_csv_and_score(source, target, workdir=workdir, split_seed=seed, train_seed=seed)
    except Exception as exc:  # a table regress refuses is a result of the suite, not its end
        return {"error": _one_line(exc)}
    return {
        "r2": result["metrics"]["r2"],
        "rmse": result["metrics"]["rmse"],
        "seconds": result["seconds"],
        "run seconds": result["run seconds"],
        "chosen": result["chosen"],
        "contract": result["contract"],
        "test target": result["test"][target].to_numpy(dtype="float64"),
    }


def _one_line(exc: Exception, limit: int = 300) -> str:
    text = " / ".join(line.strip() for line in str(exc).strip().splitlines() if line.strip())
    return f"{type(exc).__name__}: {text[:limit]}"


def run_split(source: Path, target: str, seed: int, fits: dict[str, Any], workdir: Path) -> dict[str, dict[str, Any]]:
    """Every model's result on one split seed: R2, RMSE and fit seconds, or an error."""
    from regress_core.data.split import split_frame
    from regress_core.data.tables import read_table
    from regress_core.evaluation.metrics import regression_metrics

    results = {"regress": run_regress(source, target, seed, workdir)}
    df = read_table(source)
    parts = split_frame(df, test_size=0.2, val_size=0.1, seed=seed)
    fit_df = pd.concat([parts.train, parts.val])
    y_fit, y_test = (part[target].to_numpy(dtype="float64") for part in (fit_df, parts.test))
    regress_test = results["regress"].pop("test target", None)
    if regress_test is not None and not np.array_equal(regress_test, y_test):
        raise RuntimeError(f"split seed {seed}: the peers' test rows are not regress's")
    roles = column_roles(df, target)
    x_fit, x_test = peer_frames(fit_df, parts.test, roles)
    for name, fit in fits.items():
        try:
            prediction, seconds = run_peer(fit, x_fit, y_fit, x_test, roles.categorical, seed)
        except Exception as exc:  # one peer failing leaves the others' results
            results[name] = {"error": _one_line(exc)}
            continue
        metrics = regression_metrics(y_test, prediction)
        results[name] = {"r2": metrics["r2"], "rmse": metrics["rmse"], "seconds": seconds}
    return results


def run_table(table: PublicTable, seeds: list[int], fits: dict[str, Any]) -> dict[str, Any]:
    """One table's row: its shape and kinds, and per model the mean over seeds (or the first error)."""
    df = table.load()
    runs: list[dict[str, dict[str, Any]]] = []
    with tempfile.TemporaryDirectory(prefix="regress-public-") as tmp:
        source = Path(tmp) / f"{table.name}.csv"
        df.to_csv(source, index=False)
        for seed in seeds:
            runs.append(run_split(source, table.target, seed, fits, Path(tmp)))
            print(f"  {table.name} seed {seed}: " + ", ".join(_brief(n, r) for n, r in runs[-1].items()), flush=True)
    models = {name: _mean_over_seeds([run[name] for run in runs]) for name in runs[0]}
    return {
        "table": table.name,
        "rows": len(df),
        "columns": df.shape[1] - 1,
        "target": table.target,
        "package": table.package,
        "kinds": sorted(table_kinds(df, table.target)),
        "about": table.about,
        "seeds": seeds,
        "models": models,
    }


def _brief(name: str, result: dict[str, Any]) -> str:
    if "error" in result:
        return f"{name} failed ({result['error']})"
    return f"{name} {result['r2']:.4f} ({result['seconds']:.1f} s)"


def _mean_over_seeds(results: list[dict[str, Any]]) -> dict[str, Any]:
    errors = [r["error"] for r in results if "error" in r]
    if errors:
        return {"error": errors[0], "failed seeds": len(errors)}
    summary: dict[str, Any] = {
        key: statistics.fmean(r[key] for r in results)
        for key in ("r2", "rmse", "seconds", "run seconds")
        if key in results[0]
    }
    summary["r2 by seed"] = [r["r2"] for r in results]
    if "chosen" in results[0]:
        summary["chosen"] = [r["chosen"] for r in results]
        summary["contract"] = results[0]["contract"]
    return summary


def target_checks(rows: list[dict[str, Any]]) -> list[tuple[str, bool, str]]:
    """Issue 29's three quality targets: (what, passed, detail naming the tables that miss)."""

    def r2s(model: str) -> dict[str, float]:
        return {row["table"]: row["models"][model]["r2"] for row in rows if "r2" in row["models"].get(model, {})}

    ours, catboost, linear = r2s("regress"), r2s("CatBoost"), r2s("LR")
    failed = [row["table"] for row in rows if row["table"] not in ours]
    both = [name for name in ours if name in catboost]
    mean_ours = statistics.fmean(ours[name] for name in both) if both else float("nan")
    mean_catboost = statistics.fmean(catboost[name] for name in both) if both else float("nan")
    mean_detail = f"{mean_ours:.4f} against {mean_catboost:.4f} over {len(both)} tables"
    below_catboost = [
        f"{name} ({ours[name] - catboost[name]:+.4f})" for name in both if ours[name] < catboost[name] - CATBOOST_MARGIN
    ]
    below_linear = [
        f"{name} ({ours[name] - linear[name]:+.4f})"
        for name in ours
        if name in linear and ours[name] < linear[name] - LINEAR_MARGIN
    ]
    failures = [f"{name} (regress failed)" for name in failed]
    return [
        (
            "mean R2 at least CatBoost's",
            bool(both) and not failed and mean_ours >= mean_catboost,
            mean_detail + (f"; regress failed on {', '.join(failed)}" if failed else ""),
        ),
        (
            f"no table more than {CATBOOST_MARGIN} below CatBoost",
            not below_catboost and not failed,
            ", ".join(below_catboost + failures),
        ),
        (f"no table below LR - {LINEAR_MARGIN}", not below_linear and not failed, ", ".join(below_linear + failures)),
    ]


def print_table(rows: list[dict[str, Any]], models: list[str]) -> None:
    """One table: rows, columns, and each model's mean test R2 and fit seconds; a mean row; the checks."""
    cell = 15
    print("\nmean test R2 over split seeds, and fit seconds")
    print(f"{'table':<22}{'rows':>7}{'cols':>5}" + "".join(f"{name:>{cell}}" for name in models))
    for row in rows:
        cells = []
        for name in models:
            result = row["models"].get(name, {})
            cells.append(
                f"{'failed':>{cell}}" if "error" in result else f"{result['r2']:>8.4f}{result['seconds']:>6.1f}s"
            )
        print(f"{row['table']:<22}{row['rows']:>7,}{row['columns']:>5}" + "".join(cells))
    # Means over the tables every model finished, so that each column averages the same tables.
    complete = [row for row in rows if all("r2" in row["models"].get(name, {}) for name in models)]
    if complete:
        means = [
            f"{statistics.fmean(row['models'][name]['r2'] for row in complete):>8.4f}"
            f"{statistics.fmean(row['models'][name]['seconds'] for row in complete):>6.1f}s"
            for name in models
        ]
        label = "mean" if len(complete) == len(rows) else f"mean of {len(complete)}"
        print(f"{label:<22}{'':>12}" + "".join(means))
    for row in rows:
        for name, result in row["models"].items():
            if "error" in result:
                print(f"{row['table']}: {name} failed: {result['error']}")
    print("\ntargets of issue 29")
    for what, passed, detail in target_checks(rows):
        print(f"  {'pass' if passed else 'FAIL'}  {what}" + (f": {detail}" if detail else ""))


def run_suite(tables: list[PublicTable], seeds: list[int], *, with_nn: bool, json_path: Path) -> list[dict[str, Any]]:
    """Run every table, writing the JSON after each one (a long run keeps what it finished), then print the table."""
    import torch

    fits = peer_fits(with_nn=with_nn)
    models = ["regress", *fits]
    rows: list[dict[str, Any]] = []
    for table in tables:
        rows.append(run_table(table, seeds, fits))
        figures = {
            "suite": "public",
            "seeds": seeds,
            "models": models,
            "threads": torch.get_num_threads(),
            "rows": rows,
        }
        figures["checks"] = [{"target": w, "passed": p, "detail": d} for w, p, d in target_checks(rows)]
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(figures, indent=2))
    print_table(rows, models)
    print(f"torch threads: {torch.get_num_threads()}; results: {json_path}")
    return rows
