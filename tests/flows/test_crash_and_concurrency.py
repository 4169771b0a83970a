"""Killed runs and overlapping runs leave the registry exactly right.

Real `regress train` processes are killed with SIGKILL at named points (during training,
while publishing, while promoting), then a normal run must recover on its own.
"""

import contextlib
import itertools
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from regress_core.config import build_config
from regress_core.pipeline.run import train_pipeline
from tests.helpers import FAST_ARGS, fast_config, make_table, model_registry, session_api_url

FAST = FAST_ARGS


def start(home, data, *extra, failpoint=None):
    """Start `regress train` on the session's Prefect server in its own process group, output to files."""
    env = {**os.environ, "REGRESS_HOME": home, "PYTHONUNBUFFERED": "1", "PREFECT_API_URL": session_api_url()}
    env.pop("REGRESS_FAILPOINT", None)
    if failpoint:
        env["REGRESS_FAILPOINT"] = failpoint
    args = [sys.executable, "-m", "regress_cli.main", "train", "--data", data, "--target", "y", *FAST, *extra]
    logs = Path(home).parent / f"run-{len(list(Path(home).parent.glob('run-*')))}"
    logs.mkdir(parents=True)
    with open(logs / "out", "w") as out, open(logs / "err", "w") as err:
        process = subprocess.Popen(args, env=env, stdout=out, stderr=err, text=True, start_new_session=True)
    process.logs = logs
    return process


def finish(process):
    """Wait for the run; then end anything it left behind in its process group."""
    code = process.wait(timeout=600)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    return code, (process.logs / "out").read_text(), (process.logs / "err").read_text()


def assert_consistent(home):
    """Every visible version verifies; the champion names one; history and pointer agree."""
    registry = model_registry(home)
    for version in registry.versions():
        registry.verify(version)
    champion = registry.champion()
    if champion is not None:
        assert champion in registry.versions()
        registry.verify(champion)
    history = registry.history()
    for before, after in itertools.pairwise(history):
        assert after["previous"] == before["version"]
    return registry


@pytest.fixture
def data(tmp_path):
    path = tmp_path / "data.csv"
    make_table(150, seed=4).to_csv(path, index=False)
    return str(path)


@pytest.mark.parametrize("point", ["train:epoch", "publish:staged", "publish:renamed", "gate:locked", "gate:switched"])
def test_kill_at_any_point_leaves_a_consistent_registry_that_recovers(tmp_path, data, point):
    home = str(tmp_path / "home")
    weak = {"data": {"source": data, "target": "y"}, "train": {"max_epochs": 1, "lr": 0.0001}, "gate": {"r2_min": None}}
    train_pipeline(build_config(values=fast_config(home, **weak)))  # a weak champion, so the next run promotes
    code, _, _ = finish(start(home, data, "--set", "train.seed=1", failpoint=point))
    assert code == -signal.SIGKILL
    registry = assert_consistent(home)
    assert registry.champion() in ("v0001", "v0002")
    code, out, err = finish(start(home, data, "--set", "train.seed=1"))
    assert code == 0, err
    registry = assert_consistent(home)
    assert "ingest, validate, split, scale" in out  # the recovered run reuses the cached data stages
    decision_line = next(line for line in out.splitlines() if line.startswith("decision:"))
    assert "v0002" in decision_line
    assert len(registry.versions()) == 2
    assert registry.champion() == "v0002"
    # One audit entry per switch: for gate:switched recovery appended the entry the crash lost.
    assert [h["version"] for h in registry.history()] == ["v0001", "v0002"]


def test_two_runs_at_once_publish_distinct_versions_and_serialise_promotion(tmp_path, data):
    home = str(tmp_path / "home")
    first = start(home, data, "--set", "train.seed=1")
    second = start(home, data, "--set", "train.seed=2")
    results = [finish(first), finish(second)]
    for code, _, err in results:
        assert code == 0, err
    registry = assert_consistent(home)
    assert registry.versions() == ["v0001", "v0002"]
    decided = {version: registry.decisions(version) for version in registry.versions()}
    assert all(len(records) == 1 for records in decided.values())
    first_champion = registry.history()[0]
    assert first_champion["action"] == "bootstrap"
    later = next(d[0] for v, d in decided.items() if v != first_champion["version"])
    assert later["champion"] == first_champion["version"]  # the second decision saw the first's switch
    assert registry.champion() == (later["version"] if later["promote"] else first_champion["version"])
    assert not list(Path(home, "registry", "models", "data", "staging").iterdir())
