import json

import pytest

from regress_core.errors import RegistryError
from regress_core.registry.local_storage import LocalStorage
from regress_core.registry.registered_model import RegisteredModel


def stage(registry, payload="weights"):
    folder = registry.new_staging_dir()
    (folder / "model.pt").write_text(payload)
    (folder / "package.json").write_text(json.dumps({"package_key": payload, "metrics": {}}))
    return folder


def test_versions_are_numbered_and_sealed_with_a_manifest(tmp_path):
    registry = RegisteredModel(LocalStorage(tmp_path), "m")
    assert registry.publish(stage(registry, "a"), package_key="a") == ("v0001", True)
    assert registry.publish(stage(registry, "b"), package_key="b") == ("v0002", True)
    assert registry.versions() == ["v0001", "v0002"]
    assert registry.verify("v0002").name == "v0002"
    assert not any((tmp_path / "staging").iterdir())


def test_identical_package_is_not_published_twice(tmp_path):
    registry = RegisteredModel(LocalStorage(tmp_path), "m")
    registry.publish(stage(registry, "a"), package_key="a")
    assert registry.publish(stage(registry, "a"), package_key="a") == ("v0001", False)
    assert registry.versions() == ["v0001"]


def test_unfinished_staging_is_invisible(tmp_path):
    registry = RegisteredModel(LocalStorage(tmp_path), "m")
    stage(registry)
    assert registry.versions() == []


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (lambda d: (d / "model.pt").write_text("evil"), "checksum mismatch in model.pt"),
        (lambda d: (d / "model.pt").unlink(), "model.pt is missing"),
        (lambda d: (d / "extra.py").write_text("x"), "unexpected file extra.py"),
        (lambda d: (d / "manifest.json").write_text("{"), "unreadable manifest"),
    ],
)
def test_tampered_package_is_refused(tmp_path, tamper, message):
    registry = RegisteredModel(LocalStorage(tmp_path), "m")
    version, _ = registry.publish(stage(registry), package_key="a")
    tamper(registry.version_dir(version))
    with pytest.raises(RegistryError, match=message):
        registry.verify(version)


@pytest.mark.parametrize("name", ["../../etc", "v1/../../x", "latest", "/abs", "v00a1"])
def test_version_names_cannot_escape_the_registry(tmp_path, name):
    with pytest.raises(RegistryError, match="invalid model version"):
        RegisteredModel(LocalStorage(tmp_path), "m").verify(name)


def test_missing_version_is_reported(tmp_path):
    with pytest.raises(RegistryError, match="model version m@v0042 not found"):
        RegisteredModel(LocalStorage(tmp_path), "m").verify("v0042")


def test_champion_switch_is_recorded_in_history(tmp_path):
    registry = RegisteredModel(LocalStorage(tmp_path), "m")
    first, _ = registry.publish(stage(registry, "a"), package_key="a")
    second, _ = registry.publish(stage(registry, "b"), package_key="b")
    assert registry.champion() is None
    registry.set_champion(first, action="bootstrap", reason="first", run="r1")
    registry.set_champion(second, action="promote", reason="better", run="r2")
    assert registry.champion() == second
    history = registry.history()
    assert [(h["action"], h["version"], h["previous"], h["run"]) for h in history] == [
        ("bootstrap", first, None, "r1"),
        ("promote", second, first, "r2"),
    ]
    assert not list(tmp_path.glob("*.tmp"))
    assert not list(tmp_path.glob(".champion*"))


def test_decisions_accumulate_per_version(tmp_path):
    registry = RegisteredModel(LocalStorage(tmp_path), "m")
    registry.record_decision("v0001", {"promote": True})
    registry.record_decision("v0001", {"promote": False})
    assert [d["promote"] for d in registry.decisions("v0001")] == [True, False]
