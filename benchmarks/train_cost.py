"""Where the time of one `regress train --data FILE.csv --target COL` goes, with a Prefect server running.

Starts a Prefect server first (its start is printed, not counted: a deployment or `regress ui
start` keeps one running) unless PREFECT_API_URL names one. Then, for each table, runs the
whole command as a user would, in a child process on a new workspace, and splits its wall
time with the flow run's task runs read back from the server: start-up (interpreter, imports,
configuration, the flow run's creation), each task, Prefect's time between tasks, and the end
(the flow run's finish, the summary, exit). The training task is split further with what the
package records: each candidate's seconds under model selection, epochs and ensemble members.
The imports of the training flow, part of start-up, and of the model stages, which the command
imports on a thread while the run starts and validates its data, are measured apart in a fresh
interpreter.

    python benchmarks/train_cost.py                      # california-1030 and abalone-4177
    python benchmarks/train_cost.py --tables california-1030 --preset linear
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from regress_core.pipeline.preload import MODEL_STAGE_MODULES  # noqa: E402

LIBRARIES = ("torch", "sklearn", "prefect", "pandas", "pyarrow", "scipy", "numpy", "fsspec")


def california_1030() -> tuple[pd.DataFrame, str]:
    """1,030 rows of the bundled California Housing table (seeded sample): 8 numeric columns."""
    from regress_core.data.sources import load_source

    return load_source("california_housing").sample(1030, random_state=0), "MedHouseVal"


def abalone_4177() -> tuple[pd.DataFrame, str]:
    """scikit-lego's abalone table (the benchmark extra): 4,177 rows, 8 columns, one categorical."""
    from benchmarks.public_tables import PUBLIC_TABLES

    (table,) = [table for table in PUBLIC_TABLES if table.name == "abalone-4177"]
    return table.load(), table.target


TABLES = {"california-1030": california_1030, "abalone-4177": abalone_4177}


# The flow imports without torch and scikit-learn; the command imports these on a thread while
# the run starts. Import statements: `-X importtime` does not see `importlib.import_module`.
MODEL_STAGES = "".join(f"import {name}\n" for name in MODEL_STAGE_MODULES)


def import_seconds() -> dict[str, float]:
    """Seconds to import the training flow, then the model stages, in a fresh interpreter, and each library's share."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import flows.training\n{MODEL_STAGES}"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    cumulative: dict[str, float] = {}
    top_level: list[tuple[str, float]] = []
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|( +)(\S+)$", line)
        if match:
            name, seconds = match.group(3), int(match.group(1)) / 1e6
            cumulative[name] = max(cumulative.get(name, 0.0), seconds)
            if len(match.group(2)) == 1:
                top_level.append((name, seconds))
    flow_at = [name for name, _ in top_level].index("flows.training")
    return {
        "flows.training": cumulative["flows.training"],
        "model stages": sum(seconds for _, seconds in top_level[flow_at + 1 :]),
        **{lib: cumulative.get(lib, 0.0) for lib in LIBRARIES},
    }


def start_server(prefect_home: Path) -> tuple[subprocess.Popen[bytes], str, float]:
    """A Prefect server on a free loopback port: the process, its API URL and the seconds it took to answer."""
    import socket
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PREFECT_HOME": str(prefect_home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/api"
    while time.perf_counter() - started < 180:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2):
                return process, url, time.perf_counter() - started
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the Prefect server did not answer within 180 s")


def task_runs(api_url: str, flow_run_id: str) -> tuple[Any, list[Any]]:
    """The flow run and its task runs, read back from the server."""
    os.environ["PREFECT_API_URL"] = api_url
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    async def read() -> tuple[Any, list[Any]]:
        async with get_client() as client:
            flow_run = await client.read_flow_run(flow_run_id)
            tasks = await client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
            return flow_run, tasks

    return asyncio.run(read())


def profile(name: str, workdir: Path, api_url: str, preset: str | None) -> dict[str, Any]:
    """Run `regress train` on one table and split its wall time."""
    df, target = TABLES[name]()
    source, home = workdir / f"{name}.csv", workdir / f"home-{name}"
    df.to_csv(source, index=False)
    command = [sys.executable, "-m", "regress_cli.main", "train", "--data", str(source), "--target", target]
    command += ["--home", str(home), *(["--preset", preset] if preset else [])]
    env = {**os.environ, "PREFECT_API_URL": api_url}
    began = datetime.now(UTC)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"regress train on {name} failed ({done.returncode}): {done.stderr[-2000:]}")
    flow_run_id = re.search(r"/runs/flow-run/([0-9a-f-]{36})", done.stderr + done.stdout).group(1)  # type: ignore[union-attr]
    flow_run, tasks = task_runs(api_url, flow_run_id)
    phases: dict[str, float] = {"start-up": (flow_run.start_time - began).total_seconds()}
    for task in sorted(tasks, key=lambda run: run.start_time):
        phases[task.name.rsplit("-", 1)[0]] = (task.end_time - task.start_time).total_seconds()
    flow_s = (flow_run.end_time - flow_run.start_time).total_seconds()
    phases["between tasks"] = flow_s - sum(value for key, value in phases.items() if key != "start-up")
    phases["end"] = wall - phases["start-up"] - flow_s
    (package,) = (home / "registry" / "models").glob("*/versions/v0001/package.json")
    training = json.loads(package.read_text())["training"]
    selection = training["selection"]
    return {
        "table": name,
        "rows": len(df),
        "columns": df.shape[1] - 1,
        "wall_s": wall,
        "phases": phases,
        "training": {
            "scheme": selection["scheme"],
            "chosen": selection["chosen"],
            "candidates": {row["name"]: row["seconds"] for row in selection["candidates"]},
            "epochs": training["epochs"],
            "members": selection["budget"]["ensemble_size"],
            "threads": training.get("threads"),
            "threads_reason": training.get("threads_reason", ""),
        },
    }


def print_report(imports: dict[str, float], server_s: float | None, results: list[dict[str, Any]]) -> None:
    names = [result["table"] for result in results]
    print(f"\n{'phase (s)':<34}" + "".join(f"{name:>18}" for name in names))
    print(f"{'rows x columns':<34}" + "".join(f"{r['rows']:>12,} x {r['columns']:<3}" for r in results))
    for phase in results[0]["phases"]:
        print(f"{phase:<34}" + "".join(f"{r['phases'].get(phase, 0.0):>18.2f}" for r in results))
        if phase == "train":
            candidates = dict.fromkeys(name for r in results for name in r["training"]["candidates"])
            for candidate in candidates:
                values = "".join(f"{r['training']['candidates'].get(candidate, 0.0):>18.2f}" for r in results)
                print(f"{'  candidate ' + candidate:<34}{values}")
    print(f"{'whole command':<34}" + "".join(f"{r['wall_s']:>18.2f}" for r in results))
    for result in results:
        t = result["training"]
        print(
            f"{result['table']}: {t['chosen']} chosen on {t['scheme']}, {t['epochs']} epochs, {t['members']} members, "
            f"{t['threads']} CPU threads ({t['threads_reason']})"
        )
    libraries = ", ".join(f"{lib} {imports[lib]:.2f}" for lib in LIBRARIES if imports[lib] >= 0.05)
    print(
        f"imports of the training flow (part of start-up): {imports['flows.training']:.2f} s; then of the model"
        f" stages (on a thread while the run starts): {imports['model stages']:.2f} s; libraries: {libraries}"
    )
    if server_s is not None:
        print(f"Prefect server start, not counted above: {server_s:.1f} s (once per machine when one is kept running)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", default=",".join(TABLES), help=f"comma-separated, of {', '.join(TABLES)}")
    parser.add_argument("--preset", help="a preset other than the default (labelled in the JSON)")
    parser.add_argument("--json", default="benchmarks/results/train_cost.json")
    args = parser.parse_args()
    names = [name for name in args.tables.split(",") if name]
    unknown = sorted(set(names) - set(TABLES))
    if unknown:
        parser.error(f"unknown tables: {', '.join(unknown)}")
    with tempfile.TemporaryDirectory(prefix="regress-train-cost-") as tmp:
        workdir = Path(tmp)
        server, server_s = None, None
        api_url = os.environ.get("PREFECT_API_URL")
        if not api_url:
            server, api_url, server_s = start_server(workdir / "prefect")
        try:
            imports = import_seconds()
            results = [profile(name, workdir, api_url, args.preset) for name in names]
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=30)
    print_report(imports, server_s, results)
    output = {"preset": args.preset or "default", "imports": imports, "server_start_s": server_s, "tables": results}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(output, indent=2, default=str))


if __name__ == "__main__":
    main()
