"""Signed manifests: with REGRESS_SIGNING_KEY set, a package altered without the key is refused."""

import json

import pytest

from regress_core.errors import RegistryError
from regress_core.registry.local_storage import LocalStorage
from regress_core.registry.manifest import write_manifest
from regress_core.registry.package import load_package
from regress_core.registry.registered_model import RegisteredModel
from tests.helpers import model_registry, train_package

KEY = "correct horse battery staple"


def publish(registry, payload="weights"):
    folder = registry.new_staging_dir()
    (folder / "model.pt").write_text(payload)
    (folder / "package.json").write_text(json.dumps({"package_key": payload, "metrics": {}}))
    return registry.publish(folder, package_key=payload)[0]


def manifest(registry, version):
    return json.loads((registry.version_dir(version) / "manifest.json").read_text())


@pytest.fixture(autouse=True)
def no_key(monkeypatch):
    monkeypatch.delenv("REGRESS_SIGNING_KEY", raising=False)


def test_without_a_key_packages_are_unsigned_and_verify_as_before(tmp_path):
    registry = RegisteredModel(LocalStorage(tmp_path), "m")
    version = publish(registry)
    assert "signature" not in manifest(registry, version)
    assert registry.verify(version).name == version


def test_a_signed_package_verifies_with_its_key_and_without_any(tmp_path, monkeypatch):
    monkeypatch.setenv("REGRESS_SIGNING_KEY", KEY)
    registry = RegisteredModel(LocalStorage(tmp_path), "m")
    version = publish(registry)
    assert manifest(registry, version)["signature"].startswith("hmac-sha256:")
    assert registry.verify(version).name == version
    monkeypatch.delenv("REGRESS_SIGNING_KEY")
    assert registry.verify(version).name == version


def test_a_package_altered_and_resealed_without_the_key_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("REGRESS_SIGNING_KEY", KEY)
    registry = RegisteredModel(LocalStorage(tmp_path), "m")
    version = publish(registry)
    package_dir = registry.version_dir(version)
    (package_dir / "model.pt").write_text("the attacker's weights")
    monkeypatch.delenv("REGRESS_SIGNING_KEY")  # the attacker can write the folder but lacks the key
    write_manifest(package_dir)
    registry.verify(version)  # the checksums match again
    monkeypatch.setenv("REGRESS_SIGNING_KEY", KEY)
    with pytest.raises(RegistryError, match=f"model version {version} is not signed, and REGRESS_SIGNING_KEY is set"):
        registry.verify(version)
    # Copying a valid signature from another package does not help either.
    other = publish(registry, "other")
    forged = {**manifest(registry, version), "signature": manifest(registry, other)["signature"]}
    (package_dir / "manifest.json").write_text(json.dumps(forged))
    expected = f"model version {version}'s signature does not match: the package was altered or signed with another key"
    with pytest.raises(RegistryError, match=expected):
        registry.verify(version)


def test_a_package_signed_with_another_key_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("REGRESS_SIGNING_KEY", "another key")
    home = str(tmp_path / "home")
    version = train_package(home)
    registry = model_registry(home)
    assert load_package(registry, version).version == version
    monkeypatch.setenv("REGRESS_SIGNING_KEY", KEY)
    with pytest.raises(RegistryError, match="signature does not match: the package was altered or signed with another"):
        load_package(registry, version)
