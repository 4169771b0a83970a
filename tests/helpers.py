"""Helpers shared by the test tiers: small synthetic tables, quick settings, the command line."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import pickle
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

FAST_TRAIN = {
    "max_epochs": 15,
    "patience": 5,
    "batch_size": 32,
    "lr": 0.01,
    "lr_schedule": "constant",
    "ema_decay": 0.0,
}
FAST_MODEL = {"kind": "mlp", "hidden_sizes": [16], "ensemble_size": 1, "dropout": 0.0}
FAST_FEATURES = {"scaler": "standard"}
# A model this small is worse than a straight line on these linear tables; tests of the
# pipeline's mechanics turn that gate check off (tests of the check itself keep it).
FAST_GATE = {"linear_tolerance": None}
# The same small, quick settings as command-line flags.
FAST_ARGS = [
    f"--set={section}.{key}={'null' if value is None else value}"
    for section, values in (
        ("train", {**FAST_TRAIN, "max_epochs": 10}),
        ("model", FAST_MODEL),
        ("features", FAST_FEATURES),
        ("gate", FAST_GATE),
    )
    for key, value in values.items()
]


def model_registry(home: str, name: str | None = None):
    """The registry's model of this name, or its only model."""
    from regress_core.pipeline.workspace import Workspace
    from regress_core.registry.catalog import Registry

    registry = Registry(Workspace.at(home).registry_dir)
    return registry.model(name) if name else registry.only_model(hint="a model name")


def session_api_url() -> str:
    """The API URL of the test session's Prefect server (tests/conftest.py: prefect_server)."""
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    if not url:
        raise RuntimeError("no Prefect server in this test's settings: request the `prefect_server` fixture")
    return str(url)


def regress(
    *args: str, home: str | None = None, cwd: str | None = None, served: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run the `regress` command in a child process, as a user would.

    `served` (the default) points it at the test session's Prefect server (PREFECT_API_URL), as a
    user with a running server would. `served=False` leaves PREFECT_API_URL unset, so a command
    that runs a flow starts and stops a temporary server of its own, as on a fresh machine.
    """
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("PREFECT_API_URL", None)
    if served:
        env["PREFECT_API_URL"] = session_api_url()
    if home:
        env["REGRESS_HOME"] = home
    return subprocess.run(
        [sys.executable, "-m", "regress_cli.main", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=600
    )


def children(pid: int) -> list[int]:
    """Processes whose parent is `pid`, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


class Command:
    """`regress ...` in a child process, its output collected as it comes."""

    def __init__(self, *args: str, home: str, served: bool = False) -> None:
        """`served` points it at the session's Prefect server; by default it starts a temporary one of its own."""
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "REGRESS_HOME": home}
        env.pop("PREFECT_API_URL", None)
        if served:
            env["PREFECT_API_URL"] = session_api_url()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "regress_cli.main", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.out: list[str] = []
        self.err: list[str] = []
        for stream, sink in ((self.process.stdout, self.out), (self.process.stderr, self.err)):
            threading.Thread(target=lambda s=stream, k=sink: k.extend(iter(s.readline, "")), daemon=True).start()

    def wait_for(self, text: str, timeout_s: float = 240) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if any(text in line for line in self.out + self.err):
                return
            if self.process.poll() is not None:
                pytest.fail(f"exited {self.process.returncode} before {text!r}: {''.join(self.err)[-2000:]}")
            time.sleep(0.2)
        pytest.fail(f"no {text!r} within {timeout_s} s")

    def server(self) -> int:
        servers = [pid for pid in children(self.process.pid) if b"uvicorn" in Path(f"/proc/{pid}/cmdline").read_bytes()]
        assert len(servers) == 1, servers
        return servers[0]


def regress_here(*args: str, home: str | None = None, cwd: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run a `regress` command in this process: the exit code and output `regress` gives, without a child's imports.

    Only for commands that run no flow and change nothing process-wide: `models list`, `show`,
    `history`, `verify` and `repair` (of a local workspace), and `contract infer`. A child
    process (`regress`) costs about 5 s of imports; keep it for commands that run flows, and
    where signals, exits, crashes or the environment are what is tested. REGRESS_HOME is `home`
    (unset without one) for the call only; an error `regress` does not catch is a traceback on
    stderr and exit 1, as in a child.
    """
    from regress_cli.main import main

    stdout, stderr = io.StringIO(), io.StringIO()
    saved_home, saved_cwd = os.environ.pop("REGRESS_HOME", None), os.getcwd()
    if home:
        os.environ["REGRESS_HOME"] = home
    try:
        if cwd:
            os.chdir(cwd)
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                code = main(list(args))
            except SystemExit as exc:  # argparse: usage errors and --help
                code = 0 if exc.code is None else exc.code if isinstance(exc.code, int) else 1
            except Exception:
                traceback.print_exc()
                code = 1
    finally:
        os.chdir(saved_cwd)
        os.environ.pop("REGRESS_HOME", None)
        if saved_home is not None:
            os.environ["REGRESS_HOME"] = saved_home
    return subprocess.CompletedProcess(["regress", *args], code, stdout.getvalue(), stderr.getvalue())


def one_error_line(done: subprocess.CompletedProcess[str], code: int, *messages: str) -> str:
    """A failed command's `regress: error:` line, checked: the exit code, the only `regress:` line, no traceback."""
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("regress:")]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("regress: error:"), done.stderr
    for message in messages:
        assert message in lines[0], done.stderr
    return lines[0]


def registry_snapshot(home: str | Path) -> dict[str, str]:
    """Every file of a workspace's registry (its path in the registry) and its SHA-256, the lock file aside."""
    root = Path(home) / "registry"
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.name != ".lock"
    }


def make_table(n_rows: int = 120, *, seed: int = 0) -> pd.DataFrame:
    """A small numeric regression table: y = 3a - 2b + noise."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(0, 10, n_rows)
    b = rng.uniform(-5, 5, n_rows)
    return pd.DataFrame({"a": a, "b": b, "y": 3 * a - 2 * b + rng.normal(0, 0.5, n_rows)})


def fast_config(home: str | None, **sections: dict) -> dict:
    """Configuration values for a quick run on a small table (in the default workspace when `home` is None)."""
    values = {
        **({"registry": {"home": home}} if home is not None else {}),
        "train": dict(FAST_TRAIN),
        "model": dict(FAST_MODEL),
        "features": dict(FAST_FEATURES),
        "gate": dict(FAST_GATE),
    }
    for name, section in sections.items():
        values[name] = {**values.get(name, {}), **section}
    return values


def train_package(home: str, *, seed: int = 0) -> str:
    """Train and publish a small model (named `train`) with the core alone; return its version."""
    from regress_core.config import build_config
    from regress_core.pipeline.run import train_pipeline

    source = Path(home) / "train.csv"
    source.parent.mkdir(parents=True, exist_ok=True)
    make_table(200, seed=seed).to_csv(source, index=False)
    ref, _ = train_pipeline(build_config(values=fast_config(home, data={"source": str(source), "target": "y"})))
    return ref.version


def scoring_input(n_rows: int = 500, *, seed: int = 5) -> pd.DataFrame:
    """Rows to score: the training columns without the target, plus an id and a label."""
    df = make_table(n_rows, seed=seed).drop(columns="y")
    df.insert(0, "id", np.arange(1000, 1000 + n_rows))
    df["label"] = [f"r{i}" for i in range(n_rows)]
    return df


def write_row_groups(df: pd.DataFrame, path: Path, sizes: list[int]) -> Path:
    """Write `df` as one Parquet file whose row groups hold `sizes` rows, in order."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if sum(sizes) != len(df):
        raise ValueError(f"row group sizes add up to {sum(sizes)}, the frame has {len(df)} rows")
    table = pa.Table.from_pandas(df, preserve_index=False)
    with pq.ParquetWriter(path, table.schema) as writer:
        start = 0
        for size in sizes:
            writer.write_table(table.slice(start, size))
            start += size
    return path


def make_mixed_table(n_rows: int = 300, *, seed: int = 0) -> pd.DataFrame:
    """A messy table: an id, a numeric, a categorical and a nullable numeric column."""
    rng = np.random.default_rng(seed)
    size = rng.uniform(20, 200, n_rows)
    city = rng.choice(["north", "south", "east"], n_rows)
    age = rng.uniform(0, 50, n_rows)
    age[rng.random(n_rows) < 0.15] = np.nan
    effect = {"north": 30.0, "south": -20.0, "east": 0.0}
    price = 2 * size + np.vectorize(effect.get)(city) - 0.5 * np.nan_to_num(age, nan=25) + rng.normal(0, 5, n_rows)
    return pd.DataFrame(
        {"listing_id": [f"L{i:05d}" for i in range(n_rows)], "size": size, "city": city, "age": age, "price": price}
    )


class TouchOnLoad:
    """An attacker's stand-in: creates a file when unpickled, or when skops rebuilds it."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self) -> tuple:
        return (Path.touch, (Path(self.path),))

    def __getstate__(self) -> dict:
        return {"path": self.path}

    def __setstate__(self, state: dict) -> None:
        Path(state["path"]).touch()


def pickle_payload(marker: Path) -> bytes:
    return pickle.dumps(TouchOnLoad(marker))


def skops_payload(marker: Path) -> bytes:
    import skops.io

    return skops.io.dumps(TouchOnLoad(marker))


def swap_package_file(package_dir: Path, name: str, data: bytes, *, remove: tuple[str, ...] = ()) -> None:
    """Write a file into a published package, remove others, and rewrite the manifest to match."""
    from regress_core.registry.manifest import write_manifest

    for other in remove:
        (package_dir / other).unlink()
    (package_dir / name).write_bytes(data)
    write_manifest(package_dir)


def model_events(model: str, *, names: list[str] | None = None, limit: int = 50) -> list[Any]:
    """The `regress.*` events (or only those named) about `model` on the session's Prefect server."""
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.events.filters import EventFilter, EventNameFilter, EventResourceFilter

    async def read() -> list[Any]:
        names_filter = EventNameFilter(name=names) if names else EventNameFilter(prefix=["regress."])
        async with get_client() as client:
            page = await client.read_events(
                filter=EventFilter(event=names_filter, resource=EventResourceFilter(id=[f"regress.model.{model}"])),
                limit=limit,
            )
        return page.events

    return asyncio.run(read())
