"""Damaged registry files: a torn last log line is recovered, other damage is named, and repair mends it."""

import json
import shutil

import pytest

from regress_core.errors import RegistryError
from tests.helpers import model_registry, train_package


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A workspace with one model, `train`, and two versions; v0001 is the first champion."""
    home = tmp_path_factory.mktemp("damage") / "home"
    train_package(str(home), seed=0)
    train_package(str(home), seed=1)
    return home


@pytest.fixture
def registry(trained, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(trained, home)
    return model_registry(str(home))


def test_a_torn_last_history_line_is_skipped_and_cut_before_the_next_append(registry):
    history = registry.root / "history.jsonl"
    entries = registry.history()
    with open(history, "a") as handle:
        handle.write('{"id": "abc", "acti')  # a crash in the middle of an append
    assert registry.history() == entries
    with registry.lock():
        assert "cut a torn last line (an interrupted append) from history.jsonl" in registry.recover()
    other = next(version for version in registry.versions() if version != registry.champion())
    with registry.lock():
        registry.set_champion(other, action="manual-promote", reason="by hand")
    assert [entry["version"] for entry in registry.history()] == [*(e["version"] for e in entries), other]
    assert history.read_text().endswith("\n")


@pytest.mark.parametrize(
    ("damage", "read", "message"),
    [
        (lambda r: (r.root / "champion.json").write_text('{"version": "v00'), "champion", "not valid JSON"),
        (lambda r: (r.root / "champion.json").write_text(""), "champion", "it is empty"),
        (
            lambda r: (r.root / "champion.json").write_text('{"version": 1}'),
            "champion",
            "its version 1 is not a version",
        ),
        (lambda r: (r.root / "champion.json").write_text("[]"), "champion", "it names no champion version"),
        (
            lambda r: (r.root / "history.jsonl").write_text('{"version": "v0001"}\nnot json\n{"version": "v0002"}\n'),
            "history",
            "line 2 is not a JSON record: 'not json'",
        ),
        (lambda r: (r.root / "versions/v0001/package.json").write_text("{"), "metadata", "package.json is damaged"),
    ],
)
def test_damage_is_one_line_naming_the_file_and_the_repair(registry, damage, read, message):
    damage(registry)
    call = {
        "champion": registry.champion,
        "history": registry.history,
        "metadata": lambda: registry.metadata("v0001"),
    }[read]
    with pytest.raises(RegistryError, match="is damaged") as caught:
        call()
    text = str(caught.value)
    assert message in text
    assert "\n" not in text
    assert "run `regress models repair train` to mend it from the audit history" in text


def test_a_damaged_manifest_makes_the_version_unusable_with_a_clear_line(registry):
    (registry.version_dir("v0001") / "manifest.json").write_text('{"files": 3}')
    with pytest.raises(RegistryError, match=r"model version train@v0001 has an unreadable manifest \(.*manifest.json"):
        registry.verify("v0001")


def test_repair_rebuilds_the_pointer_and_sets_damaged_lines_aside(registry):
    champion = registry.champion()
    good_history = (registry.root / "history.jsonl").read_text()
    (registry.root / "history.jsonl").write_text(good_history + "garbage\n")
    (registry.root / "champion.json").write_text('{"vers')
    decisions = registry.root / "decisions" / "v0002.jsonl"
    decisions.write_text(decisions.read_text() + "{broken\n")
    with pytest.raises(RegistryError):
        registry.check_readable()
    done = registry.repair()
    assert done == [
        "moved 1 damaged line(s) of history.jsonl to history.jsonl.damaged",
        "moved 1 damaged line(s) of v0002.jsonl to v0002.jsonl.damaged",
        f"rebuilt champion.json from the audit history: the champion is {champion}",
    ]
    registry.check_readable()
    assert registry.champion() == champion
    assert (registry.root / "history.jsonl").read_text() == good_history
    assert (registry.root / "history.jsonl.damaged").read_text() == "garbage\n"
    assert len(registry.decisions("v0002")) == 1
    assert registry.repair() == []


def test_repair_without_an_intact_champion_in_the_history_leaves_no_champion(registry):
    (registry.root / "history.jsonl").unlink()
    (registry.root / "champion.json").write_text("nonsense")
    assert registry.repair()[-1].startswith("champion.json was damaged and the history names no intact version")
    assert registry.champion() is None
    assert (registry.root / "champion.json.damaged").read_text() == "nonsense"
    assert json.loads((registry.version_dir("v0001") / "package.json").read_text())["model"] == "train"
