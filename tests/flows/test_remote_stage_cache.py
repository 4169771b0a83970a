"""Stage caches of a workspace in object storage, shared by machines (fsspec's in-memory filesystem).

Two machines are two local cache folders (REGRESS_CACHE_DIR) over one bucket prefix.
"""

import base64
import hashlib
import json

import fsspec
import pytest

from flows.training import training
from regress_core.config import build_config
from regress_core.fileio import sha256_file
from regress_core.pipeline.shared_cache import object_key
from regress_core.pipeline.workspace import Workspace
from tests.helpers import fast_config, pickle_payload, skops_payload

ALL_STAGES = ["ingest", "validate", "split", "scale", "train", "evaluate"]


@pytest.fixture
def on_machine(memory_url, tmp_path, monkeypatch):
    def switch(name: str) -> Workspace:
        monkeypatch.setenv("REGRESS_CACHE_DIR", str(tmp_path / name))
        return Workspace.at(memory_url)

    return switch


def run(home):
    return training(config=build_config(values=fast_config(home, data={"source": "linear"})))


def objects(url: str, prefix: str) -> dict[str, bytes]:
    fs = fsspec.filesystem("memory")
    root = fs._strip_protocol(f"{url}/{prefix}")
    return {path[len(root) + 1 :]: fs.cat_file(path) for path in fs.find(root)}


def test_a_second_machine_reuses_every_stage_from_the_bucket(memory_url, on_machine):
    a = on_machine("a")
    first = run(memory_url)
    assert first.cached == []
    assert first.version == "v0001"
    assert first.decision.promote

    records = objects(memory_url, "cache/results")
    assert len(records) == len(ALL_STAGES)
    for content in records.values():
        stored = json.loads(content)
        assert stored["metadata"]["serializer"] == {"type": "regress-record"}
        assert json.loads(stored["result"])["format"] == "regress-record/1"
    # Every file a record names is in the bucket under the name of its content.
    shared = objects(memory_url, "cache/objects")
    local = [path for path in a.cache_dir.rglob("*") if path.is_file() and not {"results", "locks"} & set(path.parts)]
    assert {f"{sha[:2]}/{sha}" for sha in map(sha256_file, local)} <= set(shared)
    assert all(hashlib.sha256(content).hexdigest() == key.split("/")[1] for key, content in shared.items())

    b = on_machine("b")
    assert b.root != a.root
    assert not b.root.exists()
    second = run(memory_url)
    assert second.cached == ALL_STAGES
    assert second.version == "v0001"
    assert second.decision.summary == "linear@v0001 is already the champion; nothing changed"
    fetched = sorted(path.relative_to(b.root).as_posix() for path in b.cache_dir.rglob("*.parquet"))
    assert fetched == sorted(path.relative_to(a.root).as_posix() for path in a.cache_dir.rglob("*.parquet"))


def test_a_stored_record_that_asks_for_pickle_is_not_loaded(memory_url, on_machine, tmp_path):
    on_machine("a")
    run(memory_url)
    marker = tmp_path / "unpickled"
    fs = fsspec.filesystem("memory")
    for index, path in enumerate(fs.find(f"{memory_url}/cache/results")):
        stored = json.loads(fs.cat_file(path))
        if index % 2:
            stored["metadata"]["serializer"] = {"type": "pickle"}
        else:  # the older form, whose top-level serializer Prefect moves over the metadata's
            stored["serializer"] = {"type": "pickle"}
        stored["result"] = base64.b64encode(pickle_payload(marker)).decode()
        fs.pipe_file(path, json.dumps(stored).encode())

    on_machine("b")
    second = run(memory_url)
    assert not marker.exists()
    assert second.cached == []
    on_machine("c")
    third = run(memory_url)  # the records the second run wrote in place of the refused ones
    assert third.cached == ALL_STAGES
    assert not marker.exists()


def test_a_changed_file_in_the_bucket_is_made_again_not_loaded(memory_url, on_machine, tmp_path):
    a = on_machine("a")
    run(memory_url)
    marker = tmp_path / "loaded"
    fs = fsspec.filesystem("memory")
    [local] = a.stage_dir("scale").glob("*/preprocessor.skops")
    preprocessor = f"{memory_url}/cache/objects/{object_key(sha256_file(local)).split('/', 2)[2]}"
    fs.pipe_file(preprocessor, skops_payload(marker))

    on_machine("b")
    second = run(memory_url)
    assert not marker.exists()
    # Refitting gives the same bytes, so training and evaluation stay cached and nothing new is published.
    assert second.cached == ["ingest", "validate", "split", "train", "evaluate"]
    assert second.version == "v0001"
    assert hashlib.sha256(fs.cat_file(preprocessor)).hexdigest() == sha256_file(local)  # uploaded anew
    on_machine("c")
    assert run(memory_url).cached == ALL_STAGES


def test_stored_results_are_read_only_when_they_ask_for_the_record_serializer():
    from tasks.results import checked_record

    sound = json.dumps({"metadata": {"serializer": {"type": "regress-record"}}, "result": "{}"}).encode()
    assert checked_record(sound, "s3://b/cache/results/k") == sound
    decoder = {"type": "json", "object_decoder": "os.system"}
    for serializer in ({"type": "pickle"}, decoder, {"type": "regress-record", "extra": 1}):
        stored = json.dumps({"metadata": {"serializer": serializer}, "result": "x"}).encode()
        with pytest.raises(ValueError, match="only 'regress-record' records are read"):
            checked_record(stored, "s3://b/cache/results/k")
    # Prefect moves a top-level "serializer" (an older record form) over the metadata's one.
    older = {"metadata": {"serializer": {"type": "regress-record"}}, "serializer": {"type": "pickle"}, "result": "x"}
    with pytest.raises(ValueError, match="holds more than a stage record's metadata and result"):
        checked_record(json.dumps(older).encode(), "s3://b/cache/results/k")
    with pytest.raises(ValueError, match="s3://b/cache/results/k is not a stored stage record"):
        checked_record(b"\x80\x04K\x01.", "s3://b/cache/results/k")
