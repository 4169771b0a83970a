"""Start, wait for and stop the real servers of the servers tier, each in its own process group.

Every server binds to 127.0.0.1 on ports found free, writes its output to a log file, and is
stopped with its whole process group, so nothing outlives the test session.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

HOST = "127.0.0.1"


class ServerError(RuntimeError):
    """A server did not start or did not answer in time; the message ends with its log."""


def free_ports(count: int) -> list[int]:
    """`count` distinct free loopback ports (the probes are held open together, so none repeats)."""
    with contextlib.ExitStack() as stack:
        probes = [stack.enter_context(socket.socket()) for _ in range(count)]
        for probe in probes:
            probe.bind((HOST, 0))
        return [probe.getsockname()[1] for probe in probes]


def prefect_command(*args: str) -> list[str]:
    """The Prefect CLI of this interpreter, whether or not the venv's bin folder is on PATH."""
    return [sys.executable, "-m", "prefect", *args]


def log_tail(log_path: Path, lines: int = 40) -> str:
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        return f"(no log at {log_path})"
    return "\n".join(text.splitlines()[-lines:])


def server_error(what: str, problem: str, log_path: Path) -> ServerError:
    return ServerError(f"{what} {problem}; last lines of {log_path}:\n{log_tail(log_path)}")


def as_user(user: str | None) -> dict[str, object]:
    """Popen arguments that run a command as `user` (without root's groups), or as ourselves for None."""
    if user is None:
        return {}
    entry = pwd.getpwnam(user)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def stop_group(process: subprocess.Popen, *, sig: int = signal.SIGTERM, grace_s: float = 10) -> None:
    """Send `sig` to the process group, wait up to `grace_s`, then kill whatever is left of the group."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace_s)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@contextlib.contextmanager
def running(
    command: list[str],
    log_path: Path,
    *,
    env: Mapping[str, str],
    cwd: Path,
    user: str | None = None,
    stop_signal: int = signal.SIGTERM,
    grace_s: float = 10,
) -> Iterator[subprocess.Popen]:
    """Run `command` in a new process group with its output in `log_path`; stop the group on exit."""
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
            **as_user(user),
        )
    try:
        yield process
    finally:
        stop_group(process, sig=stop_signal, grace_s=grace_s)


def wait_until(
    ready: Callable[[], bool], *, what: str, process: subprocess.Popen, log_path: Path, timeout_s: float
) -> None:
    """Poll `ready` until it holds; fail with the log's tail if the process exits or time runs out."""
    deadline = time.monotonic() + timeout_s
    while not ready():
        if process.poll() is not None:
            raise server_error(what, f"exited with code {process.returncode} before it was ready", log_path)
        if time.monotonic() > deadline:
            raise server_error(what, f"was not ready within {timeout_s:.0f} s", log_path)
        time.sleep(0.25)


@contextlib.contextmanager
def exported(env: Mapping[str, str]) -> Iterator[None]:
    """Set `env` in os.environ, and put back what was there (or nothing) on exit."""
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
