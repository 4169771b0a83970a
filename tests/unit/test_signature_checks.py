"""Whether a package's signature was checked is known to every use of it, an empty key is refused,
and every version of a registry can be verified in one pass."""

import json
import shutil

import pytest

from regress_core.errors import ConfigError, RegistryError
from regress_core.pipeline.workspace import Workspace
from regress_core.registry import manifest
from regress_core.registry.catalog import Registry
from regress_core.registry.manifest import write_manifest
from regress_core.registry.package import load_package, load_package_once
from regress_core.registry.signing import (
    NOT_CHECKED,
    SIGNED,
    UNSIGNED,
    check_signature,
    describe_signature,
    signature_fields,
    signing_key,
    unchecked_warning,
)
from regress_core.registry.verification import check_version, verify_package, verify_registry
from regress_core.scoring.streaming import score
from tests.helpers import model_registry, scoring_input, train_package

KEY = "correct horse battery staple"
NO_KEY = "its files match its manifest, but nothing proves who wrote them"


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> str:
    """One unsigned package (train@v0001), trained once for the module."""
    home = str(tmp_path_factory.mktemp("signatures") / "home")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("REGRESS_SIGNING_KEY", raising=False)
        train_package(home)
    return home


@pytest.fixture
def home(trained, tmp_path, monkeypatch) -> str:
    """A copy of the trained workspace this test may alter, with no signing key set."""
    monkeypatch.delenv("REGRESS_SIGNING_KEY", raising=False)
    copy = str(tmp_path / "home")
    shutil.copytree(trained, copy)
    return copy


def sign(home, monkeypatch, version="v0001"):
    """Seal a version's manifest again with the key set, as publishing with the key would have."""
    monkeypatch.setenv("REGRESS_SIGNING_KEY", KEY)
    write_manifest(model_registry(home).version_dir(version))
    monkeypatch.delenv("REGRESS_SIGNING_KEY")


def copy_version(home, source="v0001", target="v0002"):
    versions = model_registry(home).version_dir(source).parent
    shutil.copytree(versions / source, versions / target)


@pytest.mark.parametrize("value", ["", "   ", "\n"])
def test_a_signing_key_set_but_empty_is_a_configuration_error(monkeypatch, value):
    monkeypatch.setenv("REGRESS_SIGNING_KEY", value)
    with pytest.raises(
        ConfigError, match=r"^REGRESS_SIGNING_KEY is set but empty: set it to the signing key, or unset"
    ):
        signing_key()


def test_the_signing_key_is_used_as_given_or_absent(monkeypatch):
    monkeypatch.delenv("REGRESS_SIGNING_KEY", raising=False)
    assert signing_key() is None
    monkeypatch.setenv("REGRESS_SIGNING_KEY", f" {KEY} ")
    assert signing_key() == f" {KEY} ".encode()


def test_an_empty_key_refuses_to_publish_and_to_verify(home, monkeypatch):
    registry = model_registry(home)
    monkeypatch.setenv("REGRESS_SIGNING_KEY", "")
    with pytest.raises(ConfigError, match="REGRESS_SIGNING_KEY is set but empty"):
        write_manifest(registry.version_dir("v0001"))
    with pytest.raises(ConfigError, match="REGRESS_SIGNING_KEY is set but empty"):
        registry.verify("v0001")
    with pytest.raises(ConfigError, match="REGRESS_SIGNING_KEY is set but empty"):
        load_package(registry, "v0001")


def test_the_signature_state_says_whether_it_was_checked(monkeypatch):
    monkeypatch.delenv("REGRESS_SIGNING_KEY", raising=False)
    files = {"model.pt": "0" * 64}
    assert check_signature({"files": files}, "v0001") == UNSIGNED
    monkeypatch.setenv("REGRESS_SIGNING_KEY", KEY)
    signed = {"files": files, **signature_fields(files)}
    assert check_signature(signed, "v0001") == SIGNED
    monkeypatch.delenv("REGRESS_SIGNING_KEY")
    assert check_signature(signed, "v0001") == NOT_CHECKED


def test_the_warning_names_the_version_and_why_nothing_was_checked():
    assert unchecked_warning("sales@v0003", SIGNED) is None
    assert unchecked_warning("sales@v0003", UNSIGNED) == (
        f"model sales@v0003 is not signed, so its signature was not checked (REGRESS_SIGNING_KEY is not set): {NO_KEY}"
    )
    assert unchecked_warning("sales@v0003", NOT_CHECKED) == (
        f"model sales@v0003 is signed, but its signature was not checked (REGRESS_SIGNING_KEY is not set): {NO_KEY}"
    )
    assert describe_signature(SIGNED) == "signed, signature checked"
    assert describe_signature(UNSIGNED) == "unsigned, signature not checked (REGRESS_SIGNING_KEY is not set)"
    assert describe_signature(NOT_CHECKED) == "signed, signature not checked (REGRESS_SIGNING_KEY is not set)"


def test_a_loaded_package_records_whether_its_signature_was_checked(home, monkeypatch):
    registry = model_registry(home)
    assert load_package(registry, "v0001").signature == UNSIGNED
    sign(home, monkeypatch)
    assert load_package(registry, "v0001").signature == NOT_CHECKED
    monkeypatch.setenv("REGRESS_SIGNING_KEY", KEY)
    assert load_package(registry, "v0001").signature == SIGNED
    assert verify_package(registry, "v0001")[1] == SIGNED


def test_a_package_loaded_once_without_a_key_is_checked_again_once_a_key_is_set(home, monkeypatch):
    registry = model_registry(home)
    assert load_package_once(registry, "v0001").signature == UNSIGNED
    monkeypatch.setenv("REGRESS_SIGNING_KEY", KEY)
    with pytest.raises(RegistryError, match="model version v0001 is not signed, and REGRESS_SIGNING_KEY is set"):
        load_package_once(registry, "v0001")


def test_the_scoring_summary_carries_the_signature_state(home, tmp_path):
    registry = model_registry(home)
    scoring_input(40).to_parquet(tmp_path / "in.parquet", index=False)
    summary = score(
        load_package(registry, "v0001"), input_location=str(tmp_path / "in.parquet"), output=str(tmp_path / "p.parquet")
    )
    assert (summary.model, summary.model_version, summary.signature) == ("train", "v0001", UNSIGNED)


def test_verifying_a_registry_checks_every_version_and_reports_each(home, monkeypatch):
    copy_version(home)
    copy_version(home, target="v0003")
    registry = Registry(Workspace.at(home).registry_dir)
    checks = verify_registry(registry)
    assert [(check.label, check.ok, check.signature) for check in checks] == [
        ("train@v0001", True, UNSIGNED),
        ("train@v0002", True, UNSIGNED),
        ("train@v0003", True, UNSIGNED),
    ]
    versions = model_registry(home).version_dir("v0001").parent
    (versions / "v0002" / "model.pt").write_bytes(b"the attacker's weights")
    (versions / "v0003" / "manifest.json").write_text("{not json")
    checks = verify_registry(registry)
    assert [check.ok for check in checks] == [True, False, False]
    assert checks[1].problem == "model version v0002 was altered: checksum mismatch in model.pt"
    assert checks[2].problem.startswith("model version train@v0003 has an unreadable manifest")


def test_verifying_a_registry_with_a_key_refuses_what_it_did_not_sign(home, monkeypatch):
    copy_version(home)
    sign(home, monkeypatch, "v0002")
    monkeypatch.setenv("REGRESS_SIGNING_KEY", KEY)
    checks = verify_registry(Registry(Workspace.at(home).registry_dir))
    assert [(check.label, check.signature) for check in checks] == [("train@v0001", None), ("train@v0002", SIGNED)]
    assert checks[0].problem == (
        "model version v0001 is not signed, and REGRESS_SIGNING_KEY is set: "
        "it was published without the key, or altered"
    )


def test_a_package_altered_and_resealed_without_the_key_fails_verification_with_it(home, monkeypatch):
    sign(home, monkeypatch)
    package_dir = model_registry(home).version_dir("v0001")
    (package_dir / "model.pt").write_bytes(b"the attacker's weights")
    manifest = json.loads((package_dir / "manifest.json").read_text())
    write_manifest(package_dir)  # no key: the new manifest is unsigned, so keep the old signature
    resealed = {**json.loads((package_dir / "manifest.json").read_text()), "signature": manifest["signature"]}
    (package_dir / "manifest.json").write_text(json.dumps(resealed))
    registry = Registry(Workspace.at(home).registry_dir)
    assert [check.signature for check in verify_registry(registry)] == [NOT_CHECKED]  # without the key it passes
    monkeypatch.setenv("REGRESS_SIGNING_KEY", KEY)
    [check] = verify_registry(registry)
    assert check.problem == (
        "model version v0001's signature does not match: the package was altered or signed with another key"
    )


def test_a_reference_narrows_verification_to_a_model_or_a_version(home):
    copy_version(home)
    registry = Registry(Workspace.at(home).registry_dir)
    assert [check.label for check in verify_registry(registry, "train")] == ["train@v0001", "train@v0002"]
    assert [check.label for check in verify_registry(registry, "train@v0002")] == ["train@v0002"]
    assert [check.label for check in verify_registry(registry, "v0001")] == ["train@v0001"]
    [missing] = verify_registry(registry, "train@v0009")
    assert missing.problem.startswith("model version train@v0009 not found in ")
    with pytest.raises(RegistryError, match=r"no model named 'sales' in .* \(models: train\)"):
        verify_registry(registry, "sales")


def test_an_empty_registry_verifies_nothing_but_still_refuses_an_empty_key(tmp_path, monkeypatch):
    registry = Registry(tmp_path / "registry")
    monkeypatch.delenv("REGRESS_SIGNING_KEY", raising=False)
    assert verify_registry(registry) == []
    monkeypatch.setenv("REGRESS_SIGNING_KEY", " ")
    with pytest.raises(ConfigError, match="REGRESS_SIGNING_KEY is set but empty"):
        verify_registry(registry)


def test_an_unreadable_file_fails_its_version_only(home, monkeypatch):
    copy_version(home)
    hash_file = manifest.sha256_file

    def refuse_v0002(path):
        if "v0002" in str(path):
            raise PermissionError(13, "Permission denied", str(path))
        return hash_file(path)

    monkeypatch.setattr(manifest, "sha256_file", refuse_v0002)
    first, second = verify_registry(Registry(Workspace.at(home).registry_dir))
    assert first.ok
    assert not second.ok
    assert second.problem.startswith("cannot read ")
    assert "v0002" in second.problem
    assert second.problem.endswith(": Permission denied")
    assert check_version(model_registry(home), "v0001").ok
