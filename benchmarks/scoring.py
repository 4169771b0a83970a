"""Batch scoring throughput and memory with the model `regress train` promotes by default.

    python benchmarks/scoring.py [--rows 4000000] [--preset default] [--batch-rows 262144] [--repeat 1]

Generates a synthetic Parquet file with the bundled data's feature columns (sampled rows of
California Housing with small noise, plus an id), trains a package on the bundled data with
the chosen preset (the default: what users get), then scores the file in these ways:

1. bare: a tight loop that reads row groups with pyarrow, applies the package's preprocessor
   and network with torch at the same precision `regress score` chooses, and writes
   predictions: the practical ceiling for this model;
2. naive: pandas reads the whole file, one big float32 `package.predict`, pandas writes;
3. hgb: scikit-learn's HistGradientBoosting with the tuned settings of the quality benchmark
   (1,000 trees of 63 leaves, learning rate 0.05, all iterations), fitted on the same training
   rows, predicting the same rows read and written the same way as the bare loop: the peer;
4. regress: the `batch_scoring` flow as `regress score` runs it (validation against the
   contract, drift statistics, input hash, atomic write), with its split of time into read,
   checks, model and write;
5. stamped: the same with `--stamp` (model, model_version and as_of columns on every row);
6. ledger: the same with `--stamp --skip-scored` (the input hashed before scoring, the
   workspace's scoring ledger read, and the job recorded in it).

The last three are compared on the whole flow run (`flow s`): rows/s with and without the
stamp and the ledger, side by side (`--only regress,stamped,ledger`). As Prefect's own time per
task run moves by more than these differ on a busy machine, `overhead` measures them in one
process: the core `score()` without and with the stamp, alternated five times (fastest
counts), and the ledger's work for a job (hash the input, read the ledger, append the entry).

Each runs in a child process of this one, one after the other (interleaved over repeats), so
its peak resident memory is its own. Also measured: the network's arithmetic per row and the
machine's matrix-product throughput at that precision, giving the model's arithmetic limit in
rows per second. Prints a table; writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from regress_core.registry.package import ModelPackage

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results"


def generate(path: Path, rows: int, *, seed: int = 0, chunk: int = 1_000_000) -> None:
    """Write `rows` synthetic rows in row groups of `chunk` rows."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from regress_core.data.sources import default_contract, load_source

    base = load_source("california_housing").drop(columns="MedHouseVal")
    contract = default_contract("california_housing")
    low = np.array([contract.column(c).min for c in base.columns])
    high = np.array([contract.column(c).max for c in base.columns])
    rng = np.random.default_rng(seed)
    tmp = path.with_suffix(".tmp")
    with pq.ParquetWriter(tmp, pa.schema([("id", pa.int64())] + [(c, pa.float64()) for c in base.columns])) as writer:
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            sample = base.iloc[rng.integers(0, len(base), n)].to_numpy()
            sample = np.clip(sample * rng.normal(1.0, 0.002, sample.shape), low, high)
            columns = {"id": np.arange(start, start + n)} | {c: sample[:, i] for i, c in enumerate(base.columns)}
            writer.write_table(pa.table(columns), row_group_size=chunk)
    os.replace(tmp, path)


def train(home: str, preset: str) -> str:
    """Train and promote a package with the core pipeline; return its name@version."""
    from regress_core.config import build_config
    from regress_core.pipeline.run import train_pipeline

    gate = {"r2_min": None, "linear_tolerance": None}
    ref, _ = train_pipeline(build_config(values={"preset": preset, "registry": {"home": home}, "gate": gate}))
    return str(ref)


def champion(home: str) -> ModelPackage:
    from regress_core.pipeline.workspace import Workspace
    from regress_core.registry.catalog import Registry
    from regress_core.registry.package import load_package

    registry = Registry(Workspace.at(home).registry_dir).only_model(hint="the benchmark's one model")
    return load_package(registry, str(registry.champion()))


def fit_hgb(path: str) -> None:
    """Fit the peer on the bundled data's training rows and save it for the children."""
    import joblib
    import pandas as pd
    from sklearn.ensemble import HistGradientBoostingRegressor

    from regress_core.data.sources import load_source
    from regress_core.data.split import split_frame

    parts = split_frame(load_source("california_housing"), test_size=0.2, val_size=0.1, seed=42)
    train = pd.concat([parts.train, parts.val])
    model = HistGradientBoostingRegressor(
        max_iter=1000, learning_rate=0.05, max_leaf_nodes=63, early_stopping=False, random_state=0
    )
    joblib.dump(model.fit(train.drop(columns="MedHouseVal"), train["MedHouseVal"]), path)


def stream(source: str, output: str, batch_rows: int, columns: list[str], predict: Callable) -> None:
    """Read row groups, predict, write `id` and `prediction`: the loop the bare and peer runs share."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([("id", pa.int64()), ("prediction", pa.float64())])
    with pq.ParquetWriter(output, schema) as writer:
        reader = pq.ParquetFile(source, pre_buffer=False, buffer_size=1 << 22)
        for batch in reader.iter_batches(batch_size=batch_rows, columns=["id", *columns]):
            frame = batch.to_pandas()[columns]
            writer.write_table(pa.table({"id": batch.column("id"), "prediction": predict(frame)}, schema=schema))


def run_bare(home: str, source: str, output: str, batch_rows: int) -> dict:
    from regress_core.scoring.predict import scoring_precision

    started = time.perf_counter()
    package = champion(home)
    precision = scoring_precision("auto", package)
    stream(
        source, output, batch_rows, package.contract.feature_names, lambda df: package.predict(df, precision=precision)
    )
    return {"job_s": time.perf_counter() - started, "precision": str(precision).removeprefix("torch.")}


def run_hgb(home: str, source: str, output: str, batch_rows: int) -> dict:
    import joblib

    started = time.perf_counter()
    model = joblib.load(Path(home).parent / "hgb.joblib")  # fitted by this script a moment ago
    stream(source, output, batch_rows, list(model.feature_names_in_), model.predict)
    return {"job_s": time.perf_counter() - started}


def run_naive(home: str, source: str, output: str, batch_rows: int) -> dict:
    import pandas as pd

    started = time.perf_counter()
    package = champion(home)
    df = pd.read_parquet(source)
    pd.DataFrame({"id": df["id"], "prediction": package.predict(df)}).to_parquet(output, index=False)
    return {"job_s": time.perf_counter() - started, "precision": "float32"}


def run_regress(home: str, source: str, output: str, batch_rows: int, **options: bool) -> dict:
    from datetime import UTC, datetime

    from regress_cli.environment import prepare_environment

    prepare_environment()
    from flows.scoring import batch_scoring
    from regress_cli.prefect_api import without_idle_heartbeats
    from regress_core.config import ScoringConfig
    from regress_core.scoring.results import ScoringSkipped

    params = ScoringConfig(input=source, output=output, keep=["id"], home=home, batch_rows=batch_rows, **options)
    warm_up()  # the local Prefect API server starts here, outside the flow run's time
    started = time.perf_counter()
    with without_idle_heartbeats():  # as `regress score` runs its flow
        summary = batch_scoring(params=params, as_of=datetime(2026, 12, 1, tzinfo=UTC))
    flow_s = time.perf_counter() - started
    if isinstance(summary, ScoringSkipped):
        sys.exit(summary.message)
    return {"job_s": summary.seconds, "flow_s": flow_s, "precision": summary.precision, "phases": summary.phase_seconds}


def warm_up() -> None:
    from prefect import flow

    @flow(name="warm-up")
    def nothing() -> None:
        pass

    nothing()


def run_overhead(home: str, source: str, output: str, batch_rows: int, repeat: int = 5) -> dict:
    """Core `score()` without and with the stamp, alternated; and the ledger's work for one job."""
    from datetime import date

    from regress_core.scoring.ledger import ScoringLedger, check_ledger, entry_for
    from regress_core.scoring.streaming import score

    package = champion(home)
    day = date(2026, 12, 1)
    best = {"plain_s": float("inf"), "stamped_s": float("inf"), "ledger_s": float("inf")}
    for _ in range(repeat):
        for name, stamp in (("plain_s", False), ("stamped_s", True)):
            started = time.perf_counter()
            summary = score(
                package,
                input_location=source,
                output=output,
                keep=["id"],
                batch_rows=batch_rows,
                as_of=day,
                stamp=stamp,
            )
            best[name] = min(best[name], time.perf_counter() - started)
        started = time.perf_counter()
        ledger = ScoringLedger(Path(home) / "scoring")
        check_ledger(ledger, output=output, model=package.name, model_version=package.version, day=day, files=[source])
        ledger.record(entry_for(summary, day))
        best["ledger_s"] = min(best["ledger_s"], time.perf_counter() - started)
    return {"job_s": best["plain_s"], "precision": summary.precision, **best}


def run_stamped(home: str, source: str, output: str, batch_rows: int) -> dict:
    return run_regress(home, source, output, batch_rows, stamp=True)


def run_ledger(home: str, source: str, output: str, batch_rows: int) -> dict:
    return run_regress(home, source, output, batch_rows, stamp=True, skip_scored=True)


def arithmetic_limit(home: str, batch_rows: int) -> dict:
    """FLOPs per row of the network and the machine's matrix-product rate at the scoring precision."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from regress_core.data.sources import load_source
    from regress_core.scoring.predict import scoring_precision

    package = champion(home)
    precision = scoring_precision("auto", package)
    # Count the products of one forward pass as torch runs it (every ensemble member's included).
    sample = torch.as_tensor(
        package.preprocessor.transform_features(load_source("california_housing").head(1024), view=package.spec.view),
        dtype=torch.float32,
    )
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        package.model.eval()(sample)
    flops_per_row = counter.get_total_flops() // len(sample)
    # The machine's best matrix-product rate at that precision: operands already in it, 256-wide
    # products (the network's) over a few row counts, the highest rate counting.
    rate = 0.0
    with torch.inference_mode():
        w = torch.randn(256, 256).to(precision)
        for rows in (512, 4096, 16384):
            x = torch.randn(rows, 256).to(precision)
            for _ in range(3):
                x @ w
            started, products = time.perf_counter(), 0
            while time.perf_counter() - started < 1.0:
                x @ w
                products += 1
            rate = max(rate, products * 2 * rows * 256 * 256 / (time.perf_counter() - started))
    return {
        "flops_per_row": flops_per_row,
        "matmul_flops_per_s": rate,
        "limit_rows_per_s": rate / max(1, flops_per_row),
    }


APPROACHES = {
    "bare": run_bare,
    "naive": run_naive,
    "hgb": run_hgb,
    "regress": run_regress,
    "stamped": run_stamped,
    "ledger": run_ledger,
    "overhead": run_overhead,
}
DATED = ("regress", "stamped", "ledger")  # compared on the whole flow run


def child(approach: str, home: str, source: str, output: str, batch_rows: int) -> None:
    started = time.perf_counter()
    figures = APPROACHES[approach](home, source, output, batch_rows)
    figures["process_s"] = time.perf_counter() - started
    figures["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(figures))


def print_dated(results: dict[str, dict], rows: int) -> None:
    """The flow run with and without the stamp and the ledger, side by side; the core's own overheads."""
    core = results.get("overhead")
    if core:
        plain, stamped, ledger = core["plain_s"], core["stamped_s"], core["ledger_s"]
        print(
            f"\ncore score(), one process, fastest of alternated runs: {rows / plain:,.0f} rows/s plain, "
            f"{rows / stamped:,.0f} stamped ({plain / stamped - 1:+.1%}); the ledger's work for a job "
            f"{ledger:.3f} s ({rows / (plain + ledger) / (rows / plain) - 1:+.1%} with it)"
        )
    runs = {name: results[name] for name in DATED if name in results}
    if len(runs) < 2 or "regress" not in runs:
        return
    base = rows / runs["regress"]["flow_s"]
    print(f"\n{'flow run':<10}{'flow s':>8}{'rows/s':>12}{'vs regress':>12}")
    for name, figures in runs.items():
        rate = rows / figures["flow_s"]
        print(f"{name:<10}{figures['flow_s']:>8.2f}{rate:>12,.0f}{rate / base - 1:>+12.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=4_000_000)
    parser.add_argument("--preset", default="default", help="model preset to score with (default: what users get)")
    parser.add_argument("--batch-rows", type=int, default=262_144)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each approach; the fastest counts")
    parser.add_argument("--only", help="comma-separated approaches to run (default: all)")
    parser.add_argument("--json", default=str(RESULTS / "scoring.json"))
    parser.add_argument("--child", nargs=4, metavar=("APPROACH", "HOME", "SOURCE", "OUTPUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child, args.batch_rows)
        return
    RESULTS.mkdir(parents=True, exist_ok=True)
    source = RESULTS / f"scoring-input-{args.rows}.parquet"
    if not source.exists():
        print(f"generating {args.rows} rows into {source} ...", flush=True)
        generate(source, args.rows)
    work = Path(tempfile.mkdtemp(prefix="regress-score-bench-"))
    home = str(work / "home")
    version = train(home, args.preset)
    approaches = args.only.split(",") if args.only else list(APPROACHES)
    if "hgb" in approaches:
        fit_hgb(str(work / "hgb.joblib"))
    limit = arithmetic_limit(home, args.batch_rows)
    print(
        f"model {version} ({args.preset} preset); input {source.stat().st_size / 1e6:.0f} MB, {args.rows:,} rows\n",
        flush=True,
    )
    results: dict[str, dict] = {}
    for _ in range(args.repeat):  # interleaved, so that a slow spell of the machine hits all alike
        for approach in approaches:
            output = work / f"{approach}.parquet"
            done = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--batch-rows",
                    str(args.batch_rows),
                    "--child",
                    approach,
                    home,
                    str(source),
                    str(output),
                ],
                capture_output=True,
                text=True,
            )
            line = next((row for row in done.stdout.splitlines() if row.startswith("RESULT ")), None)
            if done.returncode != 0 or line is None:
                sys.exit(f"{approach} failed:\n{done.stderr[-3000:]}")
            figures = json.loads(line.removeprefix("RESULT "))
            best = results.get(approach)
            if best is None or figures["job_s"] < best["job_s"]:
                results[approach] = {**figures, "peak_mb": max(figures["peak_mb"], best["peak_mb"] if best else 0)}
            else:
                best["peak_mb"] = max(best["peak_mb"], figures["peak_mb"])
            output.unlink()
    reference = args.rows / results["bare"]["job_s"] if "bare" in results else None
    print(f"fastest of {args.repeat} run(s) each. job: load the model, read, predict, write. process: the whole")
    print(
        "child process, imports and (for regress) the local Prefect API server's start included. "
        "peak: highest resident memory of the runs.\n"
    )
    print(f"{'approach':<10}{'precision':>10}{'job s':>8}{'rows/s':>12}{'vs bare':>9}{'process s':>11}{'peak MB':>9}")
    for approach, figures in results.items():
        rate = args.rows / figures["job_s"]
        share = f"{rate / reference:>9.0%}" if reference else f"{'':>9}"
        print(
            f"{approach:<10}{figures.get('precision', ''):>10}{figures['job_s']:>8.2f}{rate:>12,.0f}{share}"
            f"{figures['process_s']:>11.2f}{figures['peak_mb']:>9.0f}"
        )
    print_dated(results, args.rows)
    phases = results.get("regress", {}).get("phases")
    if phases:
        total = sum(phases.values()) or 1.0
        print(
            "\nregress score, where the time went: "
            + ", ".join(f"{name} {seconds:.1f} s ({seconds / total:.0%})" for name, seconds in phases.items())
        )
    print(
        f"\nnetwork: {limit['flops_per_row']:,} FLOPs a row; matrix products at "
        f"{limit['matmul_flops_per_s'] / 1e9:.0f} GFLOP/s give an arithmetic limit of "
        f"{limit['limit_rows_per_s']:,.0f} rows/s"
    )
    Path(args.json).write_text(
        json.dumps(
            {
                "rows": args.rows,
                "preset": args.preset,
                "batch_rows": args.batch_rows,
                "repeat": args.repeat,
                "model": version,
                "arithmetic_limit": limit,
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
