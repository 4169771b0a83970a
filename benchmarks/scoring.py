"""Batch scoring throughput and memory: a bare loop, the naive approach and `regress score`.

    python benchmarks/scoring.py [--rows 10000000] [--preset notebook] [--batch-rows 262144]

Generates a synthetic Parquet file with the bundled data's feature columns (sampled rows of
California Housing with small noise, plus an id), trains a model package with the chosen
preset on the bundled data, then scores the file three ways with the same package:

1. bare: a tight loop that reads row groups with pyarrow, applies the scaler and the model
   with torch, and writes predictions: the practical ceiling;
2. naive: pandas reads the whole file, one big predict, pandas writes;
3. regress: the `batch_scoring` flow as `regress score` runs it (validation against the
   contract, drift statistics, input hash, atomic write).

Each approach runs in a child process of this one, one after the other, so that its peak
resident memory is its own. Prints rows per second and peak memory; writes JSON.
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
from pathlib import Path

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
    """Train and promote a package with the core pipeline; return its version."""
    from regress_core.config import build_config
    from regress_core.pipeline.run import train_pipeline

    version, _ = train_pipeline(
        build_config(values={"preset": preset, "registry": {"home": home}, "gate": {"r2_min": None}})
    )
    return version


def run_bare(home: str, source: str, output: str, batch_rows: int) -> dict:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    import torch

    from regress_core.pipeline.workspace import Workspace
    from regress_core.registry.catalog import Registry
    from regress_core.registry.package import load_package

    started = time.perf_counter()
    registry = Registry(Workspace.at(home).registry_dir).only_model(hint="the benchmark's one model")
    package = load_package(registry, registry.champion())
    features = package.contract.feature_names
    scaler = package.preprocessor.columns_.named_transformers_["numeric"]
    mean, std = package.preprocessor.target_mean_, package.preprocessor.target_std_
    model = package.model.eval()
    schema = pa.schema([("id", pa.int64()), ("prediction", pa.float64())])
    with pq.ParquetWriter(output, schema) as writer, torch.inference_mode():
        reader = pq.ParquetFile(source, pre_buffer=False, buffer_size=1 << 22)
        for batch in reader.iter_batches(batch_size=batch_rows, columns=["id", *features]):
            x = np.column_stack([batch.column(name).to_numpy() for name in features])
            scaled = torch.from_numpy(scaler.transform(x).astype(np.float32))
            prediction = model(scaled).mean(dim=1).double().numpy() * std + mean
            writer.write_table(pa.table({"id": batch.column("id"), "prediction": prediction}, schema=schema))
    return {"job_s": time.perf_counter() - started}


def run_naive(home: str, source: str, output: str, batch_rows: int) -> dict:
    import pandas as pd

    from regress_core.pipeline.workspace import Workspace
    from regress_core.registry.catalog import Registry
    from regress_core.registry.package import load_package

    started = time.perf_counter()
    registry = Registry(Workspace.at(home).registry_dir).only_model(hint="the benchmark's one model")
    package = load_package(registry, registry.champion())
    df = pd.read_parquet(source)
    pd.DataFrame({"id": df["id"], "prediction": package.predict(df)}).to_parquet(output, index=False)
    return {"job_s": time.perf_counter() - started}


def run_regress(home: str, source: str, output: str, batch_rows: int) -> dict:
    from regress_cli.environment import prepare_environment

    prepare_environment()
    from flows.scoring import batch_scoring
    from regress_core.config import ScoringConfig

    summary = batch_scoring(
        params=ScoringConfig(input=source, output=output, keep=["id"], home=home, batch_rows=batch_rows)
    )
    return {"job_s": summary.seconds}


APPROACHES = {"bare": run_bare, "naive": run_naive, "regress": run_regress}


def child(approach: str, home: str, source: str, output: str, batch_rows: int) -> None:
    started = time.perf_counter()
    figures = APPROACHES[approach](home, source, output, batch_rows)
    figures["process_s"] = time.perf_counter() - started
    figures["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(figures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--preset", default="notebook", help="model preset to score with")
    parser.add_argument("--batch-rows", type=int, default=262_144)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each approach; the fastest counts")
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
    print(
        f"model {version} ({args.preset}); input {source.stat().st_size / 1e6:.0f} MB, {args.rows} rows\n", flush=True
    )
    results: dict[str, dict] = {}
    for _ in range(args.repeat):  # interleaved, so that a slow spell of the machine hits all alike
        for approach in APPROACHES:
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
    bare_rate = args.rows / results["bare"]["job_s"]
    print(f"fastest of {args.repeat} runs each. job: load the package, read, predict, write. process: the whole")
    print(
        "child process, imports and (for regress) the local Prefect API server's start included. "
        "peak: highest of the runs.\n"
    )
    print(f"{'approach':<10}{'job s':>8}{'rows/s':>13}{'vs bare':>9}{'process s':>11}{'peak MB':>9}")
    for approach, figures in results.items():
        rate = args.rows / figures["job_s"]
        print(
            f"{approach:<10}{figures['job_s']:>8.2f}{rate:>13,.0f}{rate / bare_rate:>9.0%}"
            f"{figures['process_s']:>11.2f}{figures['peak_mb']:>9.0f}"
        )
    Path(args.json).write_text(
        json.dumps(
            {
                "rows": args.rows,
                "preset": args.preset,
                "batch_rows": args.batch_rows,
                "repeat": args.repeat,
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
