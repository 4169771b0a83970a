"""The Prefect API a command's flows talk to: a configured server, or a temporary one of our own.

Prefect starts a temporary server by itself when no API is configured, but that process
outlives its parent when the parent is killed (SIGKILL, OOM). Here the temporary server is
our child, started with the parent-death signal set, so it ends with the command however
the command ends. A server named by PREFECT_API_URL (or the active profile) is reused, and
costs no start-up.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from regress_cli.local_server import HOST, free_port, wait_healthy
from regress_core.errors import ServiceError
from regress_core.processes import die_with_parent

STARTUP_TIMEOUT_S = 180
# A server on the network answers its health check in milliseconds; this long without an answer is none.
REACH_TIMEOUT_S = 10


def ui_base_url(environ: Mapping[str, str]) -> str | None:
    """The Prefect UI's address for links, without importing Prefect: PREFECT_UI_URL, else PREFECT_API_URL less `/api`.

    None without either, or for an API address that does not end in `/api` (Prefect Cloud's: set
    PREFECT_UI_URL there), so a card names a flow run by its id rather than by a wrong link.
    """
    ui_url = environ.get("PREFECT_UI_URL", "").strip().rstrip("/")
    if ui_url:
        return ui_url
    api_url = environ.get("PREFECT_API_URL", "").strip().rstrip("/")
    return api_url.removesuffix("/api") if api_url.endswith("/api") else None


def start_temporary_server(port: int) -> subprocess.Popen[bytes]:
    """Start Prefect's API server (no UI) on loopback as a child that dies with this process."""
    import prefect

    env = {
        **os.environ,
        "PREFECT_UI_ENABLED": "0",
        "PREFECT__SERVER_EPHEMERAL": "1",
        "PREFECT__SERVER_FINAL": "1",
        "PREFECT_SERVER_API_HOST": HOST,
        "PREFECT_SERVER_API_PORT": str(port),
    }
    env.pop("PREFECT_API_URL", None)
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--app-dir",
        str(prefect.__module_path__.parent),
        "--factory",
        "prefect.server.api.server:create_app",
        "--host",
        HOST,
        "--port",
        str(port),
        "--log-level",
        "error",
        "--lifespan",
        "on",
    ]
    preexec = die_with_parent if sys.platform.startswith("linux") else None
    return subprocess.Popen(command, env=env, preexec_fn=preexec, stdin=subprocess.DEVNULL)


def stop_server(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def without_idle_heartbeats() -> Iterator[None]:
    """Flow runs in this process send no Prefect heartbeats, unless PREFECT_FLOWS_HEARTBEAT_FREQUENCY is set.

    Prefect's flow-run heartbeat (every 180 s by default) is for a server automation that marks
    a run which stopped reporting as crashed. Its thread sleeps in one-second steps, and every
    flow run waits for that thread as it ends: up to a second, half a second on average, added
    to each run a command makes (one per date in a backfill). A command reports its own runs'
    ends, on errors, Ctrl-C and SIGTERM too; a deployment's runs, started by a worker or
    `serve`, keep Prefect's setting. A value set in the environment, a profile or prefect.toml
    is kept here too.
    """
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, get_current_settings, temporary_settings

    if "heartbeat_frequency" in get_current_settings().flows.model_fields_set:
        yield
        return
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


def send_pending_logs_and_events(timeout_s: float = 10) -> None:
    """Deliver the logs and events Prefect still holds, while the server can take them."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogHandler

    APILogHandler().flush()
    EventsWorker.drain_all(timeout=timeout_s)


def api_headers() -> dict[str, str]:
    """The Authorization header of this client: basic auth from PREFECT_API_AUTH_STRING, else PREFECT_API_KEY."""
    from prefect.settings import get_current_settings

    api = get_current_settings().api
    if api.auth_string is not None:
        token = base64.b64encode(api.auth_string.get_secret_value().encode()).decode()
        return {"Authorization": f"Basic {token}"}
    if api.key is not None:
        return {"Authorization": f"Bearer {api.key.get_secret_value()}"}
    return {}


def refused(api_url: str, code: int, reason: str) -> ServiceError:
    """The one-line refusal of a Prefect API that answered 401 or 403 to this client."""
    return ServiceError(
        f"the Prefect API at {api_url} refused this client ({code} {reason}): "
        "check PREFECT_API_AUTH_STRING (or PREFECT_API_KEY) against the server's"
    )


def check_reachable(api_url: str, *, timeout_s: float = REACH_TIMEOUT_S) -> None:
    """Refuse, in one line, a configured Prefect API that does not answer or refuses this client.

    It asks for the server's version, which a server with basic auth answers only to a client
    with its string (its health check answers anyone).

    Raises:
        ServiceError: naming the address and the setting to check.
    """
    request = urllib.request.Request(f"{api_url.rstrip('/')}/admin/version", headers=api_headers())
    try:
        with urllib.request.urlopen(request, timeout=timeout_s):
            return
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            raise refused(api_url, exc.code, exc.reason) from exc
        raise ServiceError(
            f"the Prefect API at {api_url} answered {exc.code} {exc.reason} when asked its version: "
            "check PREFECT_API_URL names a Prefect server's /api"
        ) from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ServiceError(
            f"the Prefect API at {api_url} cannot be reached ({reason}): start the server, "
            "or fix PREFECT_API_URL (unset it to let each command start a temporary server)"
        ) from exc


def check_configured_api() -> None:
    """Check the configured Prefect API, if any, now: before a command pays for importing its flow."""
    from prefect.settings import get_current_settings

    configured = get_current_settings().api.url
    if configured:
        check_reachable(str(configured))


def api_refusal(exc: BaseException) -> ServiceError | None:
    """The one-line ServiceError for a 401 or 403 the Prefect client met anywhere, else None."""
    import httpx

    seen: BaseException | None = exc
    for _ in range(5):  # the client's error may come wrapped in a flow's or a task's
        if seen is None or isinstance(seen, httpx.HTTPStatusError):
            break
        seen = seen.__cause__ or seen.__context__
    if not isinstance(seen, httpx.HTTPStatusError) or seen.response.status_code not in (401, 403):
        return None
    url = str(seen.request.url)
    api_url = url.split("/api/", 1)[0] + "/api" if "/api/" in url else url
    return refused(api_url, seen.response.status_code, seen.response.reason_phrase)


@contextmanager
def prefect_api(*, home: str | None = None) -> Iterator[str]:
    """Yield the API URL flows use inside the block, starting a temporary server if none is configured.

    Flow runs inside the block send no heartbeats unless the user set their frequency
    (`without_idle_heartbeats`).

    Args:
        home: The workspace the command changes; for one in object storage without a
            configured server, a warning says that promotions are not serialised across machines.
    """
    with _api_url(home) as url, without_idle_heartbeats():
        yield url


@contextmanager
def _api_url(home: str | None) -> Iterator[str]:
    """The configured API's URL, checked; else a temporary server's, active in the settings until the block ends."""
    from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

    from regress_core.pipeline.workspace import Workspace

    configured = get_current_settings().api.url
    if configured:
        check_reachable(str(configured))
        yield str(configured)
        return
    url = Workspace.at(home).url
    if url:
        print(
            f"regress: warning: the workspace {url} is in object storage but no Prefect server is configured "
            "(PREFECT_API_URL), so this command's promotion lock is its own: set PREFECT_API_URL to the server every "
            "machine uses",
            file=sys.stderr,
        )
    port = free_port()
    process = start_temporary_server(port)
    try:
        timeout = float(os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", STARTUP_TIMEOUT_S))
        wait_healthy(port, timeout_s=timeout, process=process)
        url = f"http://{HOST}:{port}/api"
        with temporary_settings(updates={PREFECT_API_URL: url}):
            try:
                yield url
            finally:
                send_pending_logs_and_events()
    finally:
        stop_server(process)
