"""The tier's servers answer as the pipeline will use them: S3 through AWS_* alone, Prefect on PostgreSQL, a worker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
import uuid

import fsspec
import pandas as pd
import pytest
from prefect import flow
from prefect.deployments import run_deployment

from tests.servers.object_store import s3_client
from tests.servers.postgres import find_postgres_bin, psql
from tests.servers.prefect_stack import prefect_env, process_worker, served


def test_s3fs_round_trip_through_the_environment_alone(object_store):
    fs = fsspec.filesystem("s3", skip_instance_cache=True)  # no endpoint, no keys: AWS_* only
    prefix = f"smoke-{uuid.uuid4().hex}"
    folder = f"{object_store.bucket}/{prefix}"
    payload = os.urandom(6 * 2**20)
    with fs.open(f"{folder}/big.bin", "wb", block_size=5 * 2**20) as file:  # a multipart upload
        file.write(payload)
    fs.pipe(f"{folder}/small.txt", b"small")

    assert fs.cat(f"{folder}/big.bin") == payload
    assert sorted(fs.ls(folder, detail=False)) == [f"{folder}/big.bin", f"{folder}/small.txt"]
    # The bytes sit in SeaweedFS itself: a client told its endpoint reads them back.
    stored = s3_client(object_store.endpoint_url).get_object(Bucket=object_store.bucket, Key=f"{prefix}/small.txt")
    assert stored["Body"].read() == b"small"

    fs.rm(f"{folder}/big.bin")
    fs.invalidate_cache()
    assert not fs.exists(f"{folder}/big.bin")
    assert fs.exists(f"{folder}/small.txt")


def test_store_refuses_requests_without_the_keys(object_store):
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{object_store.endpoint_url}/{object_store.bucket}/", timeout=10)
    assert refused.value.code == 403


def test_pandas_writes_and_reads_parquet_at_s3_urls(object_store):
    url = f"s3://{object_store.bucket}/smoke-{uuid.uuid4().hex}/rows.parquet"
    frame = pd.DataFrame({"x": [1.0, 2.5, 4.0], "y": [3, 6, 9]})
    frame.to_parquet(url, index=False)
    pd.testing.assert_frame_equal(pd.read_parquet(url), frame)


FLOW_SCRIPT = """
from prefect import flow
from prefect.runtime import flow_run


@flow(name="servers-smoke")
def smoke() -> str:
    return flow_run.id


print(smoke())
"""


def test_prefect_server_keeps_flow_runs_in_postgres(prefect_postgres_server, postgres, tmp_path):
    script = tmp_path / "smoke.py"
    script.write_text(FLOW_SCRIPT)
    env = prefect_env(prefect_postgres_server, tmp_path / "prefect-home")
    done = subprocess.run([sys.executable, str(script)], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    run_id = str(uuid.UUID(done.stdout.strip().splitlines()[-1]))

    row = psql(
        find_postgres_bin(),
        postgres,
        f"SELECT f.name, r.state_type FROM flow_run r JOIN flow f ON f.id = r.flow_id WHERE r.id = '{run_id}'",
    )
    assert row == "servers-smoke|COMPLETED"


WHERE_FLOW = """
import json
import os

from prefect import flow


@flow(name="where")
def where(output: str) -> None:
    seen = {key: os.environ.get(key) for key in ("REGRESS_MACHINE", "PREFECT_HOME")}
    with open(output, "w") as file:
        json.dump(seen, file)
"""


def test_process_worker_runs_a_deployment(prefect_postgres_server, tmp_path):
    source_dir = tmp_path / "source"
    source_dir.mkdir()
    (source_dir / "where.py").write_text(textwrap.dedent(WHERE_FLOW))
    machine_dir = tmp_path / "machine-a"
    machine_dir.mkdir()
    output = tmp_path / "seen.json"

    worker = process_worker(
        prefect_postgres_server, "servers-smoke", machine_dir, machine_dir / "prefect", {"REGRESS_MACHINE": "a"}
    )
    with worker, served(prefect_postgres_server):
        where = flow.from_source(source=str(source_dir), entrypoint="where.py:where")
        where.deploy(name="smoke", work_pool_name="servers-smoke", print_next_steps=False)
        run = run_deployment("where/smoke", parameters={"output": str(output)}, timeout=120)

    assert run.state.is_completed(), run.state
    assert json.loads(output.read_text()) == {"REGRESS_MACHINE": "a", "PREFECT_HOME": str(machine_dir / "prefect")}
