"""regress with its workspace in an S3 bucket (SeaweedFS) and a Prefect server on PostgreSQL.

The command-line runs and the two process workers below share only the bucket and the
server, as separate machines would: each has its own PREFECT_HOME and local cache folder.
Each holds the object store key of its role (trainer, scorer or operator), the Prefect
server's auth string and the signing key's file.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import s3fs
from prefect import flow
from prefect.client.schemas.actions import BlockDocumentCreate
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.deployments import run_deployment

from regress_core.registry.catalog import Registry
from tests.helpers import FAST_ARGS, FAST_FEATURES, FAST_GATE, FAST_MODEL, FAST_TRAIN, scoring_input
from tests.servers.prefect_stack import client, create_process_pool, prefect_env, process_worker, served

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def bucket_home(object_store) -> str:
    return f"s3://{object_store.bucket}/home-{uuid.uuid4().hex[:8]}"


Machine = Callable[..., dict[str, str]]


@pytest.fixture
def machine(tmp_path, object_store, prefect_postgres_server, signing_key_file) -> Machine:
    """The environment of a command on a machine of its own that uses the shared server and bucket."""

    def environment(name: str, role: str = "trainer") -> dict[str, str]:
        env = {
            **prefect_env(prefect_postgres_server, tmp_path / name / "prefect"),
            **object_store.role_env(role),
            "PYTHONUNBUFFERED": "1",
            "REGRESS_CACHE_DIR": str(tmp_path / name / "cache"),
            "REGRESS_SIGNING_KEY_FILE": str(signing_key_file),
        }
        env.pop("REGRESS_SIGNING_KEY", None)
        return env

    return environment


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    """The one `regress: error:` line of a refused command, with no traceback."""
    assert done.returncode == 4, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    lines = [line for line in done.stderr.splitlines() if line.startswith("regress:")]
    assert len(lines) == 1, done.stderr[-3000:]
    assert lines[0].startswith("regress: error: "), done.stderr[-3000:]
    return lines[0]


def regress(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "regress_cli.main", *args], capture_output=True, text=True, env=env, timeout=600
    )


def put_rows(url: str, df: pd.DataFrame) -> None:
    with s3fs.S3FileSystem().open(url, "wb") as handle:
        df.to_parquet(handle, index=False)


def read_object(url: str):
    with s3fs.S3FileSystem().open(url, "rb") as handle:
        return pq.read_table(handle)


def file_metadata(url: str) -> dict[str, str]:
    with s3fs.S3FileSystem().open(url, "rb") as handle:
        stored = pq.ParquetFile(handle).metadata.metadata or {}
    return {key.decode(): value.decode() for key, value in stored.items()}


def keys(url: str) -> list[str]:
    fs = s3fs.S3FileSystem()
    fs.invalidate_cache()
    return fs.find(url)


def test_train_score_and_list_with_the_workspace_in_the_bucket(
    bucket_home, object_store, prefect_postgres_server, machine, tmp_path
):
    env = {**machine("a"), "REGRESS_HOME": bucket_home}
    # Without the server's auth string: one line that names the API and the setting, before any work
    # (the first request of the command is the one refused; no training starts).
    anonymous = regress({k: v for k, v in env.items() if k != "PREFECT_API_AUTH_STRING"}, "train", "--data", "linear")
    line = one_error_line(anonymous)
    assert f"the Prefect API at {prefect_postgres_server} refused this client (401 Unauthorized)" in line
    assert "PREFECT_API_AUTH_STRING" in line
    assert keys(bucket_home) == []

    trained = regress(env, "train", "--data", "linear", *FAST_ARGS)
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert "linear@v0001 promoted" in trained.stdout

    # The scorer's key reads the workspace but may not write it: a training run stops at its first
    # write, and the champion still scores.
    scorer = {**machine("b", "scorer"), "REGRESS_HOME": bucket_home}
    before = keys(bucket_home)
    refused = regress(scorer, "train", "--data", "linear", "--refresh-cache", *FAST_ARGS)
    line = one_error_line(refused)
    assert line.startswith(f"regress: error: the object store refused to write {bucket_home}/"), line

    rows = scoring_input(300).rename(columns={"a": "x"})[["id", "x"]]
    source = f"s3://{object_store.bucket}/in/rows-{uuid.uuid4().hex[:8]}.parquet"
    put_rows(source, rows)
    output = f"s3://{object_store.output_bucket}/{uuid.uuid4().hex[:8]}/pred.parquet"
    scored = regress(scorer, "score", "--input", source, "--output", output, "--keep", "id")
    assert scored.returncode == 0, scored.stderr[-3000:]
    table = read_object(output)
    assert table.column("id").to_pylist() == rows["id"].tolist()
    metadata = file_metadata(output)
    assert (metadata["regress.model"], metadata["regress.model_version"]) == ("linear", "v0001")

    listed = regress(scorer, "models", "list", "--json")
    assert listed.returncode == 0, listed.stderr[-3000:]
    assert [(row["model"], row["version"], row["champion"]) for row in json.loads(listed.stdout)] == [
        ("linear", "v0001", True)
    ]
    # Machine b read the package from the bucket into its own cache; nothing of a's was used.
    assert list((tmp_path / "b" / "cache" / "packages").iterdir())
    assert keys(bucket_home) == before


def test_a_training_run_killed_while_uploading_leaves_no_visible_version(bucket_home, machine, tmp_path):
    # The killed run's lock slot returns to the server when its lease runs out: keep that short here.
    env = {**machine("a"), "REGRESS_HOME": bucket_home}
    env["REGRESS_LOCK_LEASE_SECONDS"] = "60"  # the least the server grants
    killed = regress({**env, "REGRESS_FAILPOINT": "publish:uploading"}, "train", "--data", "linear", *FAST_ARGS)
    assert killed.returncode == -9, killed.stderr[-3000:]
    half = [key for key in keys(f"{bucket_home}/registry") if "/versions/v0001/" in key]
    assert half
    assert not any(key.endswith("manifest.json") for key in half)
    listed = regress(env, "models", "list", "--json")
    assert listed.returncode == 0, listed.stderr[-3000:]
    assert json.loads(listed.stdout) == [], listed.stderr[-3000:]
    rows = tmp_path / "x.parquet"
    pd.DataFrame({"x": [1.0, 2.0]}).to_parquet(rows)  # a real input: preflight reads it before the registry
    scored = regress(env, "score", "--input", str(rows), "--output", str(tmp_path / "y.parquet"))
    assert scored.returncode == 4, scored.stderr[-3000:]
    assert "no models yet" in scored.stderr

    again = regress(env, "train", "--data", "linear", *FAST_ARGS)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "linear@v0002 promoted" in again.stdout  # numbered past the unfinished upload
    assert not [key for key in keys(f"{bucket_home}/registry") if "/versions/v0001/" in key]  # removed under the lock


def test_a_scoring_run_killed_while_writing_leaves_nothing_at_the_output_key(bucket_home, object_store, machine):
    env = {**machine("a"), "REGRESS_HOME": bucket_home}
    assert regress(env, "train", "--data", "linear", *FAST_ARGS).returncode == 0
    source = f"s3://{object_store.bucket}/in/rows-{uuid.uuid4().hex[:8]}.parquet"
    put_rows(source, scoring_input(2000).rename(columns={"a": "x"})[["id", "x"]])
    output = f"s3://{object_store.bucket}/out/{uuid.uuid4().hex[:8]}/pred.parquet"
    killed = regress(
        {**env, "REGRESS_FAILPOINT": "score:writing"},
        "score",
        "--input",
        source,
        "--output",
        output,
        "--batch-rows",
        "100",
    )
    assert killed.returncode == -9, killed.stderr[-3000:]
    assert keys(output.rsplit("/", 1)[0]) == []
    done = regress(env, "score", "--input", source, "--output", output, "--batch-rows", "100")
    assert done.returncode == 0, done.stderr[-3000:]
    assert read_object(output).num_rows == 2000


def training_config(home: str, seed: int) -> dict:
    return {
        "data": {"source": "linear"},
        "train": {**FAST_TRAIN, "max_epochs": 10, "seed": seed},
        "model": FAST_MODEL,
        "features": FAST_FEATURES,
        "gate": FAST_GATE,
        "registry": {"home": home},
    }


def save_aws_block(api_url: str, name: str, aws_env: dict[str, str]) -> str:
    """Save keys and endpoint as prefect-aws's aws-credentials block, as the UI offers it; its reference."""
    with client(api_url) as prefect:
        kind = prefect.read_block_type_by_slug("aws-credentials")
        schema = prefect.get_most_recent_block_schema_for_block_type(kind.id)
        assert schema is not None
        data = {
            "aws_access_key_id": aws_env["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": aws_env["AWS_SECRET_ACCESS_KEY"],
            "region_name": aws_env["AWS_REGION"],
            "aws_client_parameters": {"endpoint_url": aws_env["AWS_ENDPOINT_URL"]},
        }
        prefect.create_block_document(
            BlockDocumentCreate(name=name, data=data, block_type_id=kind.id, block_schema_id=schema.id)
        )
    return f"aws-credentials/{name}"


def test_two_workers_share_only_the_server_and_the_bucket(
    bucket_home, object_store, prefect_postgres_server, machine, signing_key_file, tmp_path
):
    api = prefect_postgres_server
    for pool in ("machine-a", "machine-b"):
        create_process_pool(api, pool)
    # The workers hold the trainer's key; the scoring deployment runs with the scorer's, from a block.
    scorer_block = save_aws_block(api, f"scorer-{uuid.uuid4().hex[:8]}", object_store.role_env("scorer"))
    with served(api):
        for name, entrypoint in (
            ("training", "flows/training.py:training"),
            ("scoring", "flows/scoring.py:batch_scoring"),
        ):
            deployable = flow.from_source(source=str(ROOT), entrypoint=entrypoint)
            env = {"REGRESS_STORAGE_BLOCK": scorer_block} if name == "scoring" else {}
            for pool in ("a", "b"):
                deployable.deploy(
                    name=f"{name}-{pool}",
                    work_pool_name=f"machine-{pool}",
                    job_variables={"env": env},
                    print_next_steps=False,
                )
        # Each promotion holds the lock a few seconds, so the two runs below overlap there.
        trainer = {
            "REGRESS_FAILPOINT_PAUSE": "gate:locked=3",
            "REGRESS_SIGNING_KEY_FILE": str(signing_key_file),
            **object_store.role_env("trainer"),
        }
        a, b = (tmp_path / "a", tmp_path / "b")
        for folder in (a, b):
            folder.mkdir()
        with (
            process_worker(api, "machine-a", a, a / "prefect", {**trainer, "REGRESS_CACHE_DIR": str(a / "cache")}),
            process_worker(api, "machine-b", b, b / "prefect", {**trainer, "REGRESS_CACHE_DIR": str(b / "cache")}),
        ):
            nightly = run_deployment("training/training-a", parameters={"config": training_config(bucket_home, 0)})
            assert nightly.state.is_completed(), nightly.state

            source = f"s3://{object_store.bucket}/in/rows-{uuid.uuid4().hex[:8]}.parquet"
            put_rows(source, scoring_input(500).rename(columns={"a": "x"})[["id", "x"]])
            output = f"s3://{object_store.output_bucket}/{uuid.uuid4().hex[:8]}/pred.parquet"
            params = {"input": source, "output": output, "home": bucket_home, "keep": ["id"]}
            scoring = run_deployment("batch_scoring/scoring-b", parameters={"params": params})
            assert scoring.state.is_completed(), scoring.state
            table = read_object(output)
            assert table.num_rows == 500
            assert file_metadata(output)["regress.model_version"] == "v0001"

            # Two retrains started at once, one on each machine, each publishing and gating.
            runs: dict[str, object] = {}

            def train_on(machine_name: str, seed: int) -> None:
                with served(api):  # settings do not cross threads
                    runs[machine_name] = run_deployment(
                        f"training/training-{machine_name}", parameters={"config": training_config(bucket_home, seed)}
                    )

            threads = [threading.Thread(target=train_on, args=args) for args in (("a", 1), ("b", 2))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    assert sorted(runs) == ["a", "b"]
    assert all(run.state.is_completed() for run in runs.values()), {name: run.state for name, run in runs.items()}

    model = Registry(f"{bucket_home}/registry").model("linear")
    assert model.versions() == ["v0001", "v0002", "v0003"]  # one number each, none lost or shared
    history = model.history()
    for before, after in itertools.pairwise(history):
        assert after["previous"] == before["version"], history  # every switch saw the one before it
    assert model.champion() == history[-1]["version"]
    assert all(model.decisions(version) for version in ("v0002", "v0003"))  # both candidates were gated
    with client(api) as prefect:  # the lock both machines took: the server's one-slot limit
        limit = prefect.read_global_concurrency_limit_by_name(Registry(f"{bucket_home}/registry").lock_name("linear"))
        task_runs = prefect.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[runs["b"].id])))
    assert (limit.limit, limit.active_slots) == (1, 0)
    # Machine b's retrain took the data stages that machine a's nightly run left in the bucket.
    states = {run.name.rsplit("-", 1)[0]: run.state.name for run in task_runs if run.state}
    assert {stage: states[stage] for stage in ("ingest", "validate", "split", "scale", "train")} == {
        "ingest": "Cached",
        "validate": "Cached",
        "split": "Cached",
        "scale": "Cached",
        "train": "Completed",
    }
    assert list((b / "cache" / "workspaces").glob("*/cache/split/*/train.parquet"))

    # The scorer's key cannot promote: one line, and the champion and its history are unchanged.
    champion = model.champion()
    other = next(version for version in model.versions() if version != champion)
    scorer = {**machine("c", "scorer"), "REGRESS_HOME": bucket_home}
    refused = regress(scorer, "models", "promote", f"linear@{other}", "--reason", "tried with the scorer's key")
    assert "the object store refused to write" in one_error_line(refused)
    assert (model.champion(), model.history()) == (champion, history)
    # The operator's key can.
    operator = {**machine("d", "operator"), "REGRESS_HOME": bucket_home}
    promoted = regress(operator, "models", "promote", f"linear@{other}", "--reason", "checked by the operator")
    assert promoted.returncode == 0, promoted.stderr[-3000:]
    assert model.champion() == other


def test_credentials_from_a_prefect_block_stand_in_for_the_aws_variables(
    bucket_home, object_store, prefect_postgres_server, machine
):
    bare = {key: value for key, value in machine("a").items() if key[:4] != "AWS_"}
    env = {**bare, "REGRESS_HOME": bucket_home}
    # The endpoint alone, and no keys: the store refuses the unsigned request, in one line.
    refused = regress({**env, "AWS_ENDPOINT_URL": object_store.env["AWS_ENDPOINT_URL"]}, "models", "list", "--json")
    assert refused.returncode == 4, refused.stderr[-3000:]
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr[-3000:]
    assert refused.stderr.startswith(f"regress: error: cannot list {bucket_home}/registry")

    env["REGRESS_STORAGE_BLOCK"] = save_aws_block(
        prefect_postgres_server, f"trainer-{uuid.uuid4().hex[:8]}", object_store.role_env("trainer")
    )
    trained = regress(env, "train", "--data", "linear", *FAST_ARGS)
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert "linear@v0001 promoted" in trained.stdout
    source = f"s3://{object_store.bucket}/in/rows-{uuid.uuid4().hex[:8]}.parquet"
    put_rows(source, scoring_input(200).rename(columns={"a": "x"})[["id", "x"]])
    output = f"s3://{object_store.bucket}/out/{uuid.uuid4().hex[:8]}/pred.parquet"
    scored = regress(env, "score", "--input", source, "--output", output, "--keep", "id")
    assert scored.returncode == 0, scored.stderr[-3000:]
    assert read_object(output).num_rows == 200
    listed = regress(env, "models", "list", "--json")
    assert [row["version"] for row in json.loads(listed.stdout)] == ["v0001"], listed.stderr[-3000:]
