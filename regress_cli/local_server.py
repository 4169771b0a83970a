"""One command to run the pipeline's Prefect stack locally: server, work pool, deployments, worker.

`regress ui start` starts a Prefect server bound to 127.0.0.1 (or, behind basic auth, to the
address `--host` names), creates the process work pool named in prefect.yaml, deploys
everything in prefect.yaml, starts a read-only server of the workspace's model reports
(`report_server`, a local workspace only) and a worker, whose runs link their reports there
through $REGRESS_REPORT_URL;
`regress ui stop` stops the worker, the report server and the Prefect server. Their state and
logs live in the workspace under `ui/`.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from regress_core.errors import ConfigError, RegressError
from regress_core.evaluation.report_markdown import REPORT_URL_ENV
from regress_core.fileio import atomic_write_json
from regress_core.pipeline.workspace import Workspace

PROJECT_DIR = Path(__file__).resolve().parent.parent
POOL = "regress-local"
HOST = "127.0.0.1"
DEFAULT_PORT = 4200
REPORT_PORT = 4201
STARTUP_TIMEOUT_S = 240
SERVER_AUTH_ENV = "PREFECT_SERVER_API_AUTH_STRING"
CLIENT_AUTH_ENV = "PREFECT_API_AUTH_STRING"


def is_loopback(host: str) -> bool:
    """Whether `host` is an address only this machine reaches (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str) -> None:
    """Refuse to serve the Prefect API past loopback without basic auth.

    Raises:
        ConfigError: `host` is not a loopback address and PREFECT_SERVER_API_AUTH_STRING is not set.
    """
    if is_loopback(host) or os.environ.get(SERVER_AUTH_ENV, "").strip():
        return
    raise ConfigError(
        f"refusing to serve the Prefect API on {host} without authentication: anyone who reaches the port could "
        f"read every run and start training or scoring; set {SERVER_AUTH_ENV}=user:password (from a secret store, "
        f"not the shell history) and give every worker and command the same as {CLIENT_AUTH_ENV}, or bind to "
        f"{HOST} (the default)"
    )


def free_port(preferred: int | None = None) -> int:
    """The preferred loopback port if it is free, else any free one."""
    with socket.socket() as probe:
        try:
            probe.bind((HOST, preferred or 0))
        except OSError:
            probe.bind((HOST, 0))
        return probe.getsockname()[1]


def stack_environment(ws: Workspace, port: int, host: str = HOST) -> dict[str, str]:
    """Environment of the server, the deploy step and the worker (the clients use the server's auth string)."""
    server_auth = os.environ.get(SERVER_AUTH_ENV)
    return {
        **os.environ,
        **({CLIENT_AUTH_ENV: server_auth} if server_auth and not os.environ.get(CLIENT_AUTH_ENV) else {}),
        "PREFECT_HOME": str(ws.root / "ui" / "prefect"),
        "PREFECT_API_URL": f"http://{HOST}:{port}/api",
        "PREFECT_SERVER_API_HOST": host,
        "PREFECT_SERVER_API_PORT": str(port),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "REGRESS_PROJECT_DIR": str(PROJECT_DIR),
        "REGRESS_HOME": ws.home,
        "PWD": str(PROJECT_DIR),
    }


def _prefect(*args: str) -> list[str]:
    return [sys.executable, "-m", "prefect", *args]


def _spawn(command: list[str], log_path: Path, env: dict[str, str]) -> int:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=PROJECT_DIR, start_new_session=True
        )
    return process.pid


def wait_healthy(port: int, *, timeout_s: float = STARTUP_TIMEOUT_S, process: subprocess.Popen | None = None) -> None:
    """Wait until the server on `port` answers its health check (or its `process` has exited)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RegressError(f"the Prefect server exited with code {process.returncode} before it answered")
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/api/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(1)
    raise RegressError(f"the Prefect server did not answer on port {port} within {timeout_s:.0f} s")


def url_host(host: str) -> str:
    """The host part of a URL that reaches a server bound to `host` (this machine's name for a wildcard)."""
    if host in ("0.0.0.0", "::", ""):
        return socket.getfqdn()
    return f"[{host}]" if ":" in host else host


def start_report_server(ws: Workspace, env: dict[str, str], host: str, *, avoid: int) -> tuple[int, str]:
    """Start the read-only report server of `ws`'s registry; return its pid and base URL.

    Its port is 4201 or, when that is taken (or is `avoid`, the Prefect server's), a free one.
    """
    port = free_port(REPORT_PORT if avoid != REPORT_PORT else None)
    log_path = ws.root / "ui" / "logs" / "reports.log"
    command = [sys.executable, "-m", "regress_cli.report_server", "--registry", str(ws.root / "registry")]
    pid = _spawn([*command, "--host", host, "--port", str(port)], log_path, env)
    probe = {"0.0.0.0": HOST, "::": "::1"}.get(host, host)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # a server that exited at once is reaped, so `_alive` sees it gone
        if not _alive(pid):
            break
        try:
            socket.create_connection((probe, port), timeout=1).close()
            return pid, f"http://{url_host(host)}:{port}"
        except OSError:
            time.sleep(0.2)
    _stop_group(pid)
    raise RegressError(f"the report server did not start on port {port}; see {log_path}")


def _run(command: list[str], env: dict[str, str], log_path: Path) -> None:
    with open(log_path, "ab") as log:
        done = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=PROJECT_DIR)
    if done.returncode != 0:
        raise RegressError(f"`{' '.join(command[2:])}` failed; see {log_path}")


def state_path(ws: Workspace) -> Path:
    return ws.root / "ui" / "state.json"


def read_state(ws: Workspace) -> dict | None:
    path = state_path(ws)
    return json.loads(path.read_text()) if path.is_file() else None


def start(ws: Workspace, *, port: int | None = None, notify: str | None = None, host: str = HOST) -> dict:
    """Start server, work pool, deployments, model-event automations and worker; return their state.

    Raises:
        ConfigError: `host` is past loopback and no auth string is set (see `check_bind`).
    """
    check_bind(host)
    existing = read_state(ws)
    if existing and _alive(existing["server_pid"]):
        raise RegressError(f"already running at {existing['url']}; stop it first with `regress ui stop`")
    port = free_port(port or DEFAULT_PORT)
    env = stack_environment(ws, port, host)
    logs = ws.root / "ui" / "logs"
    state = {"url": f"http://{HOST}:{port}", "api_url": env["PREFECT_API_URL"], "port": port, "logs": str(logs)}
    state["server_pid"] = _spawn(
        _prefect("server", "start", "--host", host, "--port", str(port)), logs / "server.log", env
    )
    atomic_write_json(state_path(ws), state)
    try:
        wait_healthy(port)
        _run(_prefect("work-pool", "create", POOL, "--type", "process", "--overwrite"), env, logs / "deploy.log")
        _run(
            _prefect("--no-prompt", "deploy", "--all", "--prefect-file", str(PROJECT_DIR / "prefect.yaml")),
            env,
            logs / "deploy.log",
        )
        automations = [sys.executable, "-m", "regress_cli.automations", *(["--notify", notify] if notify else [])]
        _run(automations, env, logs / "deploy.log")
        state["notify"] = notify
        if ws.url is None:  # a workspace in object storage keeps its reports' object-storage addresses
            state["report_pid"], report_url = start_report_server(ws, env, host, avoid=port)
            state["report_url"] = report_url
            atomic_write_json(state_path(ws), state)
            env = {**env, REPORT_URL_ENV: report_url}
        state["worker_pid"] = _spawn(_prefect("worker", "start", "--pool", POOL), logs / "worker.log", env)
    except BaseException:
        stop(ws)
        raise
    atomic_write_json(state_path(ws), state)
    return state


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _stop_group(pid: int | None, *, grace_s: float = 15) -> None:
    if pid is None or not _alive(pid):
        return
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.2)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
    if _alive(pid):
        os.killpg(pid, signal.SIGKILL)


def stop(ws: Workspace) -> bool:
    """Stop the worker, the report server, then the Prefect server. Returns whether anything was running."""
    state = read_state(ws)
    if state is None:
        return False
    _stop_group(state.get("worker_pid"))
    _stop_group(state.get("report_pid"))
    _stop_group(state.get("server_pid"))
    state_path(ws).unlink(missing_ok=True)
    return True
