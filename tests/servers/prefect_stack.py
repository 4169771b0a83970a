"""A Prefect server on a given database, and process workers that each stand for a machine of their own.

The server runs with basic auth, as the several-machines docs set it up: every client here
(workers, command-line runs, the tests' own Prefect client) sends `AUTH_STRING`, new each session.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.exceptions import ObjectAlreadyExists
from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings
from prefect.workers.process import ProcessWorker

from tests.servers.servers import HOST, free_ports, prefect_command, running, wait_until

SERVER_STARTUP_TIMEOUT_S = 120
WORKER_STARTUP_TIMEOUT_S = 60
AUTH_STRING = f"regress:{secrets.token_urlsafe(24)}"


@dataclass(frozen=True)
class RunningWorker:
    name: str
    pool: str
    log_path: Path
    pid: int


def prefect_env(api_url: str, prefect_home: Path) -> dict[str, str]:
    """The environment of a Prefect client or worker with its own home that talks to `api_url`."""
    return {
        **os.environ,
        "PREFECT_API_URL": api_url,
        "PREFECT_API_AUTH_STRING": AUTH_STRING,
        "PREFECT_HOME": str(prefect_home),
    }


def client(api_url: str) -> SyncPrefectClient:
    """The tests' own Prefect client of `api_url`, with the auth string."""
    return SyncPrefectClient(api_url, auth_string=AUTH_STRING)


@contextlib.contextmanager
def served(api_url: str) -> Iterator[None]:
    """Point this thread's Prefect client (deploy, run_deployment) at `api_url`, with the auth string."""
    with temporary_settings({PREFECT_API_URL: api_url, PREFECT_API_AUTH_STRING: AUTH_STRING}):
        yield


def is_healthy(api_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@contextlib.contextmanager
def running_prefect_server(database_url: str, root: Path) -> Iterator[str]:
    """Start `prefect server` with basic auth on `database_url`, its home and log under `root`; yield its API URL."""
    (port,) = free_ports(1)
    api_url = f"http://{HOST}:{port}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(root / "prefect-home"),
        "PREFECT_API_DATABASE_CONNECTION_URL": database_url,
        "PREFECT_SERVER_API_AUTH_STRING": AUTH_STRING,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",  # spares copying the UI's build into PREFECT_HOME
    }
    env.pop("PREFECT_API_URL", None)
    log_path = root / "prefect-server.log"
    command = prefect_command("server", "start", "--host", HOST, "--port", str(port))
    with running(command, log_path, env=env, cwd=root) as process:
        wait_until(
            lambda: is_healthy(api_url),
            what="The Prefect server",
            process=process,
            log_path=log_path,
            timeout_s=SERVER_STARTUP_TIMEOUT_S,
        )
        yield api_url


def create_process_pool(api_url: str, pool: str) -> None:
    """Create work pool `pool` of type process with Prefect's default job template, unless it exists."""
    template = ProcessWorker.get_default_base_job_template()
    with client(api_url) as prefect, contextlib.suppress(ObjectAlreadyExists):
        prefect.create_work_pool(WorkPoolCreate(name=pool, type="process", base_job_template=template))


def has_worker(api_url: str, pool: str, name: str) -> bool:
    with client(api_url) as prefect:
        return any(worker.name == name for worker in prefect.read_workers_for_work_pool(pool))


@contextlib.contextmanager
def process_worker(
    api_url: str,
    pool: str,
    workdir: Path,
    prefect_home: Path,
    env: Mapping[str, str] | None = None,
    *,
    name: str | None = None,
) -> Iterator[RunningWorker]:
    """Run `prefect worker start --type process` on `pool` as a machine of its own would.

    The worker has its own PREFECT_HOME and working folder, and `env` on top of this process's
    environment; its flow runs inherit all three. Its log is `prefect_home/worker.log`. Returns
    once the server has heard from it; the worker's process group is stopped on exit.
    """
    create_process_pool(api_url, pool)
    prefect_home.mkdir(parents=True, exist_ok=True)
    name = name or f"{pool}-{workdir.name}"
    worker_env = {**prefect_env(api_url, prefect_home), "PREFECT_WORKER_QUERY_SECONDS": "1", **(env or {})}
    log_path = prefect_home / "worker.log"
    command = prefect_command("worker", "start", "--pool", pool, "--type", "process", "--name", name)
    with running([*command, "--install-policy", "never"], log_path, env=worker_env, cwd=workdir) as process:
        wait_until(
            lambda: has_worker(api_url, pool, name),
            what=f"The Prefect worker {name!r}",
            process=process,
            log_path=log_path,
            timeout_s=WORKER_STARTUP_TIMEOUT_S,
        )
        yield RunningWorker(name=name, pool=pool, log_path=log_path, pid=process.pid)
