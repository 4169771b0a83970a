"""After the tier: no secret of the session is in a workspace, a log, a Prefect home, the buckets or Prefect's records.

The secrets are the Prefect auth string (and the Authorization header made of it), the object
store's secret keys, the signing key and the database password; each is new this session.
The only files that hold them are the store's own identities and the signing key's file.
"""

from __future__ import annotations

import base64
import os
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

from tests.servers.conftest import DATABASE_PASSWORD, SIGNING_KEY
from tests.servers.object_store import ObjectStore, s3_client
from tests.servers.postgres import find_postgres_bin
from tests.servers.prefect_stack import AUTH_STRING


def session_secrets() -> dict[str, bytes]:
    found = {
        "the Prefect auth string": AUTH_STRING.encode(),
        "the Prefect auth string's password": AUTH_STRING.split(":", 1)[1].encode(),
        "the Prefect Authorization header": base64.b64encode(AUTH_STRING.encode()),
        "the signing key": SIGNING_KEY.encode(),
        "the database password": DATABASE_PASSWORD.encode(),
    }
    for index, secret in enumerate(ObjectStore.secret_keys()):
        found[f"object store secret key {index}"] = secret.encode()
    return found


def files_under(root: Path, skip: set[Path]) -> list[Path]:
    """Every file below `root`, except those in or below `skip` (the secrets' own files)."""
    return [
        path
        for path in root.rglob("*")
        if path.is_file() and not path.is_symlink() and not any(path.is_relative_to(place) for place in skip)
    ]


def bucket_objects(store: ObjectStore) -> dict[str, bytes]:
    client = s3_client(store.endpoint_url)
    objects = {}
    for bucket in (store.bucket, store.output_bucket):
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for entry in page.get("Contents", []):
                body = client.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()
                objects[f"s3://{bucket}/{entry['Key']}"] = body
    return objects


def prefect_database(postgres: str) -> bytes:
    """Prefect's whole database as SQL: runs, parameters, job variables, logs, artifacts, events, blocks."""
    parts = urlsplit(postgres)
    command = [str(find_postgres_bin() / "pg_dump"), "-h", str(parts.hostname), "-p", str(parts.port)]
    command += ["-U", "postgres", "-d", parts.path.lstrip("/"), "--data-only"]
    return subprocess.run(command, capture_output=True, check=True, timeout=120).stdout


def test_no_secret_is_left_anywhere(object_store, postgres, prefect_postgres_server, secrets_dir, tmp_path_factory):
    seaweed = [path.parent for path in tmp_path_factory.getbasetemp().glob("seaweedfs*/s3.json")]
    # The store's identities and its raw volumes (objects are read back through S3 below).
    skip = {secrets_dir, *(folder / "s3.json" for folder in seaweed), *(folder / "data" for folder in seaweed)}
    places: dict[str, bytes] = {}
    for root in (tmp_path_factory.getbasetemp(), Path(os.environ["PREFECT_HOME"])):
        for path in files_under(root, skip):
            places[str(path)] = path.read_bytes()
    places.update(bucket_objects(object_store))
    places["Prefect's database"] = prefect_database(postgres)
    assert any(name.endswith("prefect-server.log") for name in places)  # the search saw the servers' logs

    leaks = [
        f"{what} in {where}"
        for what, secret in session_secrets().items()
        for where, content in places.items()
        if secret in content
    ]
    assert leaks == []
