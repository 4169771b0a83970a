"""A champion switch killed at any of its steps leaves the pointer and the history agreeing.

Real `regress models promote`, `regress models rollback` and `regress train` processes kill
themselves (SIGKILL) at each step of a switch on a local registry. Straight after the kill, the
champion and the history agree (the history's last entry names the champion, one entry per
switch that took effect) and the champion scores; the next operation, recovering under the
lock, keeps them so. tests/unit/test_switch_journal.py holds the same for object storage, in process.
"""

import shutil
import signal

import numpy as np
import pytest

from regress_core.config import build_config
from regress_core.pipeline.run import train_pipeline
from regress_core.registry.operations import promote_version, rollback_champion
from regress_core.registry.package import load_package
from tests.flows.test_crash_and_concurrency import assert_consistent, finish, start
from tests.helpers import fast_config, make_table, model_registry, regress, train_package

STEPS = ["switch:journaled", "switch:pointer-written", "gate:switched", "switch:appended"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A workspace with one model, `train`, and two versions, one of them the champion."""
    home = tmp_path_factory.mktemp("switch-journal") / "home"
    train_package(str(home), seed=0)
    train_package(str(home), seed=1)
    return home


@pytest.fixture
def workspace(trained, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(trained, home)
    return str(home)


def run_killed_at(point, *args, home):
    """Run a `regress` command that kills itself with SIGKILL at the failpoint."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REGRESS_FAILPOINT", point)
        done = regress(*args, home=home)
    assert done.returncode == -signal.SIGKILL, done.stderr


def assert_agree(home, *, champion, switches):
    """The pointer and the history agree, with one entry per switch that took effect; the champion scores."""
    registry = assert_consistent(home)
    history = registry.history()
    assert registry.champion() == champion
    assert len(history) == switches
    assert len({entry["id"] for entry in history}) == switches
    assert history[-1]["version"] == champion
    predictions = load_package(registry, champion).predict(make_table(20, seed=9))
    assert len(predictions) == 20
    assert np.isfinite(predictions).all()
    return registry


def assert_settled(registry):
    """Nothing left half-done: the history file holds every entry the readers see, and no journal is left."""
    assert registry.storage.read_log("history") == registry.history()
    assert not (registry.root / "switch.json").exists()


@pytest.mark.parametrize("point", STEPS)
def test_a_promotion_killed_at_any_step_leaves_both_or_neither(workspace, point):
    registry = model_registry(workspace)
    before, switches = registry.champion(), len(registry.history())
    other = next(version for version in registry.versions() if version != before)
    run_killed_at(point, "models", "promote", f"train@{other}", "--reason", "checked by hand", home=workspace)
    took_effect = point != "switch:journaled"
    assert_agree(workspace, champion=other if took_effect else before, switches=switches + took_effect)
    # The next operation recovers under the lock: it finishes the switch or records it as abandoned.
    if took_effect:
        rollback_champion(registry, reason="bad scores")
    else:
        promote_version(registry, other, reason="checked by hand")
    registry = assert_agree(workspace, champion=before if took_effect else other, switches=switches + took_effect + 1)
    assert_settled(registry)
    abandoned = registry.storage.read_log("abandoned-switches")
    assert [record["entry"]["version"] for record in abandoned] == ([] if took_effect else [other])


def test_a_rollback_killed_after_the_pointer_was_written_keeps_its_history_entry(workspace):
    registry = model_registry(workspace)
    first = registry.champion()
    other = next(version for version in registry.versions() if version != first)
    promote_version(registry, other, reason="checked by hand")
    switches = len(registry.history())
    run_killed_at("switch:pointer-written", "models", "rollback", "train", "--reason", "bad scores", home=workspace)
    registry = assert_agree(workspace, champion=first, switches=switches + 1)
    assert registry.history()[-1]["action"] == "rollback"
    with registry.lock():
        assert registry.recover() == [
            f"appended the missing audit entry for {first}",
            f"finished the switch to {first}: removed its journal",
        ]
    assert_settled(registry)


def test_a_gate_promotion_killed_before_the_switch_changes_nothing_and_the_next_run_promotes(tmp_path):
    home = str(tmp_path / "home")
    data = tmp_path / "data.csv"
    make_table(150, seed=4).to_csv(data, index=False)
    source = {"source": str(data), "target": "y"}
    weak = {"max_epochs": 1, "lr": 0.0001}
    train_pipeline(build_config(values=fast_config(home, data=source, train=weak, gate={"r2_min": None})))
    code, _, _ = finish(start(home, str(data), "--set", "train.seed=1", failpoint="switch:journaled"))
    assert code == -signal.SIGKILL
    registry = assert_agree(home, champion="v0001", switches=1)
    assert registry.decisions("v0002")[-1]["promote"]  # decided, but the switch never took effect
    code, _, err = finish(start(home, str(data), "--set", "train.seed=1"))  # finds v0002 published, gates it anew
    assert code == 0, err
    assert registry.versions() == ["v0001", "v0002"]
    registry = assert_agree(home, champion="v0002", switches=2)
    assert_settled(registry)
    assert [record["entry"]["version"] for record in registry.storage.read_log("abandoned-switches")] == ["v0002"]
