"""A champion switch and its history entry are seen together or not at all, on both storages.

A run stopped at each step of a switch (an exception raised at the step's failpoint, in this
process; tests/flows/test_switch_journal.py kills real processes on a local registry) leaves a
registry whose readers see the old champion with the old history or the new champion with its
entry, and whose recovery under the lock settles the switch the same way.
"""

import json
import threading
from contextlib import contextmanager

import pytest

import regress_core.registry.registered_model as registered_model
from regress_core.errors import RegistryError
from regress_core.registry.catalog import Registry
from regress_core.registry.operations import promote_version, rollback_champion

STEPS = ["switch:journaled", "switch:pointer-written", "gate:switched", "switch:appended"]
LOCKS: dict[str, threading.Lock] = {}


class Stopped(Exception):
    """The run stopped at a failpoint."""


@contextmanager
def thread_lock(name):
    with LOCKS.setdefault(name, threading.Lock()):
        yield


@pytest.fixture(params=["local", "object"])
def model(request, tmp_path):
    """A model with versions v0001 and v0002 (stub packages); v0001 is the champion."""
    if request.param == "local":
        registry = Registry(tmp_path / "registry")
    else:
        registry = Registry(f"{request.getfixturevalue('memory_url')}/registry", locks=thread_lock)
    model = registry.model("sales")
    for payload in ("a", "b"):
        staging = model.new_staging_dir()
        (staging / "model.pt").write_text(payload)
        (staging / "package.json").write_text(json.dumps({"package_key": payload, "metrics": {}, "model": "sales"}))
        model.publish(staging, package_key=payload)
    promote_version(model, "v0001", reason="first one")
    return model


@contextmanager
def stopping_at(point):
    """While inside, a switch raises `Stopped` where REGRESS_FAILPOINT=point would kill the process."""

    def failpoint(name):
        if name == point:
            raise Stopped(name)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(registered_model, "failpoint", failpoint)
        with pytest.raises(Stopped):
            yield


def promote_stopped_at(model, point):
    with stopping_at(point):
        promote_version(model, "v0002", reason="better one")


def log_versions(model, log="history"):
    return [record.get("entry", record)["version"] for record in model.storage.read_log(log)]


@pytest.mark.parametrize("point", STEPS)
def test_a_switch_stopped_at_any_step_is_seen_whole_or_not_at_all_and_recovery_agrees(model, point):
    promote_stopped_at(model, point)
    switched = point != "switch:journaled"
    champion = "v0002" if switched else "v0001"
    history = model.history()
    assert model.champion() == champion
    assert [(e["version"], e["previous"]) for e in history] == [("v0001", None), ("v0002", "v0001")][: 1 + switched]
    assert history[-1] == json.loads(model.storage.read_bytes("champion.json"))["entry"]
    model.verify(champion)

    with model.lock():
        done = model.recover()
    assert model.storage.read_bytes("switch.json") is None
    assert log_versions(model) == [entry["version"] for entry in history]  # the log now holds what was read
    assert model.history() == history
    assert model.champion() == champion
    if switched:
        assert log_versions(model, "abandoned-switches") == []
        assert done[-1] == "finished the switch to v0002: removed its journal"
    else:
        assert log_versions(model, "abandoned-switches") == ["v0002"]
        assert done[0].startswith("abandoned the switch to v0002 journaled at ")
    with model.lock():
        assert model.recover() == []

    if switched:
        rollback_champion(model, reason="bad scores")
    else:
        promote_version(model, "v0002", reason="better one")
    assert [e["version"] for e in model.history()] == [
        *(e["version"] for e in history),
        "v0001" if switched else "v0002",
    ]
    assert log_versions(model) == [e["version"] for e in model.history()]


@pytest.mark.parametrize("point", ["switch:pointer-written", "switch:appended"])
def test_the_next_switch_settles_a_switch_left_half_done_before_its_own(model, point):
    promote_stopped_at(model, point)
    with model.lock():  # no recover() first: set_champion settles by itself
        model.set_champion("v0001", action="manual-promote", reason="by hand")
    assert log_versions(model) == ["v0001", "v0002", "v0001"]
    assert model.storage.read_bytes("switch.json") is None


def test_a_switch_abandoned_while_recovery_was_stopped_is_recorded_once(model):
    promote_stopped_at(model, "switch:journaled")
    journal = model.storage.read_bytes("switch.json")
    with model.lock():
        model.recover()
        model.storage.write_bytes("switch.json", journal)  # as if stopped before the journal was removed
        model.recover()
    assert log_versions(model, "abandoned-switches") == ["v0002"]
    assert [e["version"] for e in model.history()] == ["v0001"]


def test_a_registry_written_before_switches_were_journaled_reads_and_recovers(model):
    pointer = json.loads(model.storage.read_bytes("champion.json"))
    entry = {**pointer["entry"], "id": "0" * 32, "version": "v0002", "previous": "v0001"}
    # A crash between the pointer and the history, as such a registry could be left: no journal.
    model.storage.write_bytes("champion.json", json.dumps({"version": "v0002", "entry": entry}).encode())
    assert [e["version"] for e in model.history()] == ["v0001", "v0002"]
    with model.lock():
        assert model.recover() == ["appended the missing audit entry for v0002"]
    assert log_versions(model) == ["v0001", "v0002"]
    # A pointer that carries no entry: the history is the log as it stands.
    model.storage.write_bytes("champion.json", b'{"version": "v0001"}')
    assert model.champion() == "v0001"
    assert log_versions(model) == [e["version"] for e in model.history()]
    with model.lock():
        assert model.recover() == []


def test_a_damaged_journal_is_refused_early_and_set_aside_by_repair(model):
    model.storage.write_bytes("switch.json", b'{"entry": 3}')
    with pytest.raises(
        RegistryError, match=r"switch.json is damaged \(it holds no champion switch\).*models repair sales"
    ):
        model.check_readable()
    with pytest.raises(RegistryError, match=r"switch.json is damaged"):
        promote_version(model, "v0002", reason="better one")
    assert model.repair() == [
        "moved the damaged switch.json aside (the pointer holds the last switch that took effect)"
    ]
    assert model.champion() == "v0001"
    assert [e["version"] for e in model.history()] == ["v0001"]
    promote_version(model, "v0002", reason="better one")


def test_repair_that_points_back_at_an_older_version_records_the_change(model):
    promote_version(model, "v0002", reason="better one")
    model.storage.write_bytes("versions/v0002/manifest.json", b'{"files": 3}')
    model.storage.write_bytes("champion.json", b'{"vers')
    assert model.repair() == ["rebuilt champion.json from the audit history: the champion is v0001"]
    history = model.history()
    assert model.champion() == "v0001"
    assert history[-1]["version"] == "v0001"
    assert (history[-1]["action"], history[-1]["previous"]) == ("repair", "v0002")
    assert history[-1]["reason"] == "champion.json was damaged and v0002, the newest champion, does not verify"
    assert log_versions(model) == ["v0001", "v0002", "v0001"]
