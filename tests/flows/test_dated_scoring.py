"""Dated scoring as a new user tries it, its drift event, backfills, and its faults under concurrency.

Commands run in this process (`regress_cli.main.main`) on the session's Prefect server, except
where two processes must overlap: two scores of the same day at once, and a promotion between
the batches of a running score. These two belong to the fault corpus (see also
tests/flows/test_crash_and_concurrency.py).
"""

import contextlib
import io
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flows.scoring import batch_scoring
from regress_cli.main import main
from regress_core.config import ScoringConfig, build_config
from regress_core.pipeline.run import train_pipeline
from regress_core.registry.operations import promote_version
from regress_core.registry.package import load_package
from tests.helpers import make_table, model_events, model_registry, session_api_url

DAYS = ["2026-11-29", "2026-11-30", "2026-12-01"]
ROWS = 200
MODEL = "datedhouses"
INPUT = "incoming/dt={as_of}/rows.parquet"


def train(root: Path, seed: int) -> str:
    """A model trained with the linear preset (a short step budget) on a small table; its version."""
    source = root / f"{MODEL}.csv"
    make_table(ROWS, seed=seed).to_csv(source, index=False)
    values = {
        "preset": "linear",
        "data": {"source": str(source), "target": "y"},
        "registry": {"home": str(root / "home")},
        "train": {"max_epochs": 20},
        "gate": {"linear_tolerance": None, "r2_min": None},
    }
    ref, _ = train_pipeline(build_config(values=values))
    return ref.version


def partition(root: Path, day: str, offset: int, *, shifted: bool = False) -> Path:
    df = make_table(ROWS, seed=offset).drop(columns="y")
    if shifted:  # inside the contract's ranges, far from the training rows' spread
        df["a"] = np.linspace(9.5, 10.5, ROWS)
    df.insert(0, "house_id", np.arange(offset * 1000, offset * 1000 + ROWS))
    path = root / "incoming" / f"dt={day}" / "rows.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_parquet(path, index=False)
    return path


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """Two versions of a model (v0001 champion) and three days of incoming rows."""
    root = tmp_path_factory.mktemp("dated")
    train(root, seed=0)
    train(root, seed=1)
    registry = model_registry(str(root / "home"))
    if registry.champion() != "v0001":
        promote_version(registry, "v0001", reason="the tests score with v0001")
    for index, day in enumerate(DAYS):
        partition(root, day, index + 1)
    return root


def run_cli(root: Path, *args: str) -> tuple[int, str, list[str]]:
    """`regress` in this process, in `root`: exit code, standard output, error lines."""
    out, err = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    os.chdir(root)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([*args, "--home", str(root / "home")])
    finally:
        os.chdir(cwd)
    return code, out.getvalue(), [line for line in err.getvalue().splitlines() if line.startswith("regress: error:")]


def score_day(root: Path, day: str, output: str, *extra: str) -> tuple[int, str, list[str]]:
    return run_cli(root, "score", "--as-of", day, "--input", INPUT, "--output", output, "--keep", "house_id", *extra)


def test_three_days_and_a_rerun_leave_three_complete_stamped_files(workspace):
    output = "predictions/dt={as_of}/predictions.parquet"
    for day in [*DAYS, DAYS[1]]:
        code, _, errors = score_day(workspace, day, output, "--stamp")
        assert code == 0, errors
    files = sorted((workspace / "predictions").rglob("*"))
    assert [p.relative_to(workspace / "predictions").as_posix() for p in files if p.is_file()] == [
        f"dt={day}/predictions.parquet" for day in DAYS
    ]
    for day in DAYS:
        df = pd.read_parquet(workspace / "predictions" / f"dt={day}" / "predictions.parquet")
        assert len(df) == ROWS
        assert df.house_id.is_unique
        assert list(df.columns) == ["house_id", "prediction", "model", "model_version", "as_of"]
        assert set(df.model) == {MODEL}
        assert set(df.model_version) == {"v0001"}
        assert {str(value) for value in df.as_of} == {day}

    code, out, errors = score_day(workspace, "2026-12-02", output, "--if-missing", "skip")
    assert (code, errors) == (0, [])
    assert "nothing to score for 2026-12-02" in out
    assert "has not arrived yet (--if-missing skip)" in out
    code, _, errors = score_day(workspace, "2026-12-02", output)
    assert code == 3
    assert len(errors) == 1
    assert "no input for 2026-12-02: " in errors[0]
    assert "--if-missing skip exits 0" in errors[0]
    assert not (workspace / "predictions" / "dt=2026-12-02").exists()


def test_skip_scored_does_nothing_for_a_day_already_scored_and_rescores_new_input(workspace):
    output = "skip/dt={as_of}/predictions.parquet"
    assert score_day(workspace, DAYS[0], output, "--skip-scored")[0] == 0
    written = workspace / "skip" / f"dt={DAYS[0]}" / "predictions.parquet"
    before = written.stat().st_mtime_ns
    code, out, _ = score_day(workspace, DAYS[0], output, "--skip-scored")
    assert code == 0
    assert f"{DAYS[0]} is already scored with {MODEL}@v0001 from the same input" in out
    assert written.stat().st_mtime_ns == before
    code, out, _ = score_day(workspace, DAYS[0], output, "--skip-scored", "--model", f"{MODEL}@v0002")
    assert code == 0
    assert "already scored" not in out
    assert pq_version(written) == "v0002"


def pq_version(path: Path) -> str:
    import pyarrow.parquet as pq

    return pq.read_metadata(path).metadata[b"regress.model_version"].decode()


def table_rows(out: str) -> list[list[str]]:
    """The closing table's rows, split at blanks."""
    lines = out[out.index("date ") :].splitlines()
    assert lines[0].split() == ["date", "rows", "version", "status"]
    return [line.split() for line in lines[1:]]


def test_a_backfill_scores_each_day_once_and_ends_with_a_table(workspace):
    args = ["--start", DAYS[0], "--end", "2026-12-02", "--input", INPUT, "--output", "backfill/{as_of}.parquet"]
    code, out, errors = run_cli(workspace, "score", *args, "--skip-scored", "--if-missing", "skip")
    assert code == 0, errors
    assert table_rows(out) == [
        *([day, "200", "v0001", "scored"] for day in DAYS),
        ["2026-12-02", "no", "input", "(skipped)"],
    ]
    code, out, _ = run_cli(workspace, "score", *args, "--skip-scored", "--if-missing", "skip")
    assert code == 0
    assert table_rows(out)[:3] == [[day, "200", "v0001", "already", "scored"] for day in DAYS]
    failing = ["--start", DAYS[2], "--end", "2026-12-02", *args[4:]]
    code, out, errors = run_cli(workspace, "score", *failing)
    assert code == 3
    assert table_rows(out) == [[DAYS[2], "200", "v0001", "scored"], ["2026-12-02", "failed"]]
    assert len(errors) == 1
    assert "no input for 2026-12-02" in errors[0]
    assert sorted(p.name for p in (workspace / "backfill").iterdir()) == [f"{day}.parquet" for day in DAYS]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--as-of", "yesterday"], "--as-of: 'yesterday' is not a date"),
        (["--start", "2026-12-01"], "a backfill needs both --start and --end"),
        (["--start", "2026-12-01", "--end", "2026-11-01"], "--end 2026-11-01 is before --start 2026-12-01"),
        (["--start", "2026-12-01", "--end", "2026-12-02", "--as-of", "2026-12-01"], "either --as-of"),
        (["--as-of", DAYS[0], "--stamp", "--keep", "model"], "kept column model has the name of a stamp column"),
    ],
)
def test_bad_dated_options_are_one_line(workspace, args, message):
    code, _, errors = run_cli(workspace, "score", "--input", INPUT, "--output", "bad/{as_of}.parquet", *args)
    assert code == 2, errors
    assert len(errors) == 1
    assert message in errors[0]
    assert not (workspace / "bad").exists()


def test_a_backfill_needs_the_day_in_its_paths(workspace):
    code, _, errors = run_cli(
        workspace, "score", "--start", DAYS[0], "--end", DAYS[1], "--input", INPUT, "--output", "one.parquet"
    )
    assert code == 2
    assert "--output one.parquet has no {as_of}: a backfill scores one batch per day" in errors[0]


def test_drift_past_the_threshold_emits_an_event_with_the_day(workspace):
    partition(workspace, "2026-10-15", 9, shifted=True)
    code, out, errors = score_day(workspace, "2026-10-15", "drift/{as_of}.parquet")
    assert code == 0, errors
    assert "drift warning: a (PSI" in out
    deadline = time.monotonic() + 60
    while True:
        events = [e for e in model_events(MODEL, names=["regress.data.drift"]) if e.payload["as_of"] == "2026-10-15"]
        if events or time.monotonic() > deadline:
            break
        time.sleep(1)
    (event,) = events
    assert event.payload["features"]["a"] > 0.2
    assert all(value > 0.2 for value in event.payload["features"].values())
    assert (event.payload["model"], event.payload["model_version"]) == (MODEL, "v0001")
    assert event.payload["threshold"] == 0.2
    assert any(related.id == f"regress.model-version.{MODEL}.v0001" for related in event.related)


def start_score(root: Path, day: str, output: str) -> subprocess.Popen:
    """`regress score` in a child process that pauses after each batch it writes."""
    env = {**os.environ, "PREFECT_API_URL": session_api_url(), "REGRESS_FAILPOINT_PAUSE": "score:writing=2"}
    args = ["score", "--as-of", day, "--input", INPUT, "--output", output, "--keep", "house_id", "--stamp"]
    return subprocess.Popen(
        [sys.executable, "-m", "regress_cli.main", *args, "--batch-rows", "100", "--home", str(root / "home")],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_temporary(folder: Path, running) -> None:
    """Until a job's temporary output appears in `folder` (its first batch is being written)."""
    deadline = time.monotonic() + 120
    while not list(folder.glob(".*.tmp")) and running() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert running(), "the job ended before its output was seen being written"


def test_two_scores_of_the_same_day_at_once_leave_one_complete_output(workspace):
    output = "twice/{as_of}.parquet"
    child = start_score(workspace, DAYS[2], output)
    folder = workspace / "twice"
    wait_for_temporary(folder, lambda: child.poll() is None)
    code, _, errors = score_day(workspace, DAYS[2], output, "--stamp")  # while the child is between batches
    assert code == 0, errors
    _, err = child.communicate(timeout=300)
    assert child.returncode == 0, err
    assert [p.name for p in folder.iterdir()] == [f"{DAYS[2]}.parquet"]  # no temporary left behind
    df = pd.read_parquet(folder / f"{DAYS[2]}.parquet")
    assert len(df) == ROWS
    assert df.house_id.is_unique


PROMOTE = """
import sys
from regress_core.pipeline.workspace import Workspace
from regress_core.registry.catalog import Registry
from regress_core.registry.operations import promote_version
registry = Registry(Workspace.at(sys.argv[1]).registry_dir).model(sys.argv[2])
promote_version(registry, sys.argv[3], reason="a promotion while a score runs")
"""


def test_a_promotion_between_batches_leaves_every_row_scored_and_stamped_with_one_version(workspace, monkeypatch):
    home = str(workspace / "home")
    registry = model_registry(home)
    assert registry.champion() == "v0001"
    monkeypatch.setenv("REGRESS_FAILPOINT_PAUSE", "score:writing=1.5")
    folder = workspace / "promoted"
    params = ScoringConfig(
        input=str(workspace / INPUT), output=str(folder / "{as_of}.parquet"), stamp=True, batch_rows=100, home=home
    )
    results = []
    # The flow a scheduled run starts, in a thread of this process; the promotion in another process.
    scoring = threading.Thread(target=lambda: results.append(batch_scoring(params=params, as_of=DAYS[0])))
    scoring.start()
    try:
        wait_for_temporary(folder, scoring.is_alive)
        time.sleep(0.3)  # the first batch is written; the job pauses before the next
        subprocess.run([sys.executable, "-c", PROMOTE, home, MODEL, "v0002"], check=True, timeout=120)
        assert registry.champion() == "v0002"
    finally:
        scoring.join(timeout=300)
    (summary,) = results
    assert summary.model_version == "v0001"
    df = pd.read_parquet(folder / f"{DAYS[0]}.parquet")
    assert set(df.model_version) == {"v0001"}
    rows = pd.read_parquet(workspace / "incoming" / f"dt={DAYS[0]}" / "rows.parquet")
    np.testing.assert_allclose(df.prediction.to_numpy(), load_package(registry, "v0001").predict(rows), rtol=1e-6)
    promote_version(registry, "v0001", reason="back to the tests' champion")
