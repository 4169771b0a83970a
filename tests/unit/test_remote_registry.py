"""The registry in object storage, on fsspec's in-memory filesystem (the same code path as S3)."""

import json
import threading
from contextlib import contextmanager

import fsspec
import pytest

from regress_core.config import build_config
from regress_core.errors import DataValidationError, RegistryError
from regress_core.pipeline.run import train_pipeline
from regress_core.pipeline.workspace import Workspace
from regress_core.registry.catalog import Registry
from regress_core.registry.operations import promote_version, rollback_champion
from regress_core.registry.package import load_package
from tests.helpers import fast_config, make_table

LOCKS: dict[str, threading.Lock] = {}


@contextmanager
def thread_lock(name):
    with LOCKS.setdefault(name, threading.Lock()):
        yield


@pytest.fixture
def url(memory_url):
    return memory_url


def stage(registry, payload):
    folder = registry.new_staging_dir()
    (folder / "model.pt").write_text(payload)
    (folder / "package.json").write_text(json.dumps({"package_key": payload, "metrics": {}, "model": registry.name}))
    return folder


def objects(url):
    fs = fsspec.filesystem("memory")
    root = url.removeprefix("memory://")
    return sorted(path.removeprefix("/").removeprefix(root + "/") for path in fs.find(root))


def test_versions_are_uploaded_with_the_manifest_last_and_read_back_verified(url):
    model = Registry(f"{url}/registry", locks=thread_lock).model("sales")
    assert model.publish(stage(model, "a"), package_key="a") == ("v0001", True)
    assert model.publish(stage(model, "b"), package_key="b") == ("v0002", True)
    assert model.publish(stage(model, "a"), package_key="a") == ("v0001", False)
    assert model.versions() == ["v0001", "v0002"]
    assert "registry/models/sales/versions/v0002/manifest.json" in objects(url)
    local = model.verify("v0002")
    assert (local / "model.pt").read_text() == "b"
    assert Registry(f"{url}/registry").models() == ["sales"]


def test_a_version_whose_upload_never_finished_is_invisible_skipped_and_removed(url):
    model = Registry(f"{url}/registry", locks=thread_lock).model("sales")
    model.publish(stage(model, "a"), package_key="a")
    # What a run killed while uploading leaves: files of v0002 without their manifest.
    model.storage.folder.write_bytes("versions/v0002/model.pt", b"half")
    assert model.versions() == ["v0001"]
    with pytest.raises(RegistryError, match="v0002 not found"):
        model.verify("v0002")
    assert model.publish(stage(model, "b"), package_key="b") == ("v0003", True)
    with model.lock():
        assert model.recover() == ["removed the unfinished upload of v0002"]
    assert not [key for key in objects(url) if "/v0002/" in key]


def test_an_altered_object_is_refused(url):
    model = Registry(f"{url}/registry", locks=thread_lock).model("sales")
    model.publish(stage(model, "a"), package_key="a")
    model.storage.folder.write_bytes("versions/v0001/model.pt", b"tampered")
    with pytest.raises(RegistryError, match=r"checksum mismatch in model.pt"):
        model.verify("v0001")


def test_history_entries_of_concurrent_writers_are_all_kept(url):
    model = Registry(f"{url}/registry", locks=thread_lock).model("sales")

    def append(writer):
        for index in range(10):
            model.storage.append("history", {"writer": writer, "index": index})

    threads = [threading.Thread(target=append, args=(writer,)) for writer in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    entries = model.history()
    assert len(entries) == 40
    assert sorted((e["writer"], e["index"]) for e in entries) == [(w, i) for w in range(4) for i in range(10)]


def test_champion_switches_promote_and_rollback_are_audited(url):
    model = Registry(f"{url}/registry", locks=thread_lock).model("sales")
    for payload in "ab":
        model.publish(stage(model, payload), package_key=payload)
    promote_version(model, "v0001", reason="first one")
    promote_version(model, "v0002", reason="better one")
    assert model.champion() == "v0002"
    rollback_champion(model, reason="bad scores")
    assert model.champion() == "v0001"
    assert [(e["action"], e["version"], e["previous"]) for e in model.history()] == [
        ("manual-promote", "v0001", None),
        ("manual-promote", "v0002", "v0001"),
        ("rollback", "v0001", "v0002"),
    ]


def test_without_a_shared_lock_the_champion_is_not_switched(url):
    model = Registry(f"{url}/registry").model("sales")
    with pytest.raises(RegistryError, match="file lock cannot keep two machines"):
        model.publish(stage(model, "a"), package_key="a")
    assert model.versions() == []
    assert model.champion() is None


def test_a_damaged_history_entry_is_named_and_repaired(url):
    model = Registry(f"{url}/registry", locks=thread_lock).model("sales")
    model.publish(stage(model, "a"), package_key="a")
    promote_version(model, "v0001", reason="first one")
    model.storage.folder.write_bytes("history/00000000000000000001-bad.json", b"{not json")
    with pytest.raises(RegistryError, match=r"history/00000000000000000001-bad.json is damaged.*models repair sales"):
        model.history()
    assert model.repair() == [
        "moved the damaged entry history/00000000000000000001-bad.json to damaged/history/00000000000000000001-bad.json"
    ]
    assert [e["version"] for e in model.history()] == ["v0001"]


def test_the_whole_pipeline_trains_into_a_remote_workspace(url, tmp_path):
    source = tmp_path / "train.csv"
    make_table(200).to_csv(source, index=False)
    config = build_config(values=fast_config(url, data={"source": str(source), "target": "y"}))
    ref, decision = train_pipeline(config, locks=thread_lock)
    assert decision.promote
    ws = Workspace.at(url)
    assert ws.url == url
    assert ws.registry_dir == f"{url}/registry"
    assert str(ws.root).startswith(str(tmp_path / "cache"))  # stage caches stay on this machine
    model, champion = Registry(ws.registry_dir).resolve(None)
    assert champion == ref
    package = load_package(model, ref.version)
    assert package.predict(make_table(20).drop(columns="y")).shape == (20,)
    assert f"registry/models/{ref.model}/champion.json" in objects(url)
    assert any(key.startswith("reports/validation/") and key.endswith("index.html") for key in objects(url))


def test_a_failed_validation_names_the_report_uploaded_to_the_workspace(url, tmp_path):
    source = tmp_path / "train.csv"
    make_table(200).to_csv(source, index=False)
    contract = tmp_path / "contract.yaml"  # a reaches 10 in the table
    contract.write_text("name: t\ntarget: y\ncolumns:\n  - {name: a, max: 5.0}\n  - {name: b}\n  - {name: y}\n")
    config = build_config(
        values=fast_config(url, data={"source": str(source), "target": "y", "contract": str(contract)})
    )
    with pytest.raises(DataValidationError, match=rf"report: {url}/reports/validation/\w+/index.html") as failed:
        train_pipeline(config, locks=thread_lock)
    report = str(failed.value).rsplit("report: ", 1)[1].rstrip(")")
    assert report.removeprefix(url + "/") in objects(url)
