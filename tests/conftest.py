"""Fixtures of every tier, the environment of the test session, and tier markers by folder."""

from __future__ import annotations

import os
import resource
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import torch

from tests.helpers import make_table, model_registry, train_package

TIERS = ("unit", "contract", "flows", "e2e", "servers")
# REGRESS_TEST_CPU=1: print each test's CPU seconds (user + sys, of the test process and the child
# processes it waited for), a measure that other work on a shared machine does not stretch.
CPU_REPORT = os.environ.get("REGRESS_TEST_CPU") == "1"
CPU_SECONDS = pytest.StashKey[dict[str, tuple[float, float]]]()
SESSION_TEARDOWN = "(teardown after the last test: session fixtures, such as the Prefect server, stopped and counted)"


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    # Commands run by the tests keep their Prefect database away from the user's ~/.prefect, and
    # each pytest-xdist worker has its own, so two workers' temporary servers never share one.
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker or "PREFECT_HOME" not in os.environ:
        os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix=f"regress-tests-prefect-{worker or 'main'}-")
    if worker:
        # Parallel workers share the cores: each trains on one thread (and so do the commands it
        # starts), since two workers training on two threads each would stall one another.
        os.environ["OMP_NUM_THREADS"] = "1"
        torch.set_num_threads(1)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test with its tier, the folder it lives in, so `-m` selects tiers."""
    for item in items:
        tier = Path(str(item.fspath)).parent.name
        if tier in TIERS:
            item.add_marker(getattr(pytest.mark, tier))


def cpu_seconds() -> float:
    """User and system CPU of this process and of every child process it has waited for."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    """With REGRESS_TEST_CPU=1, record the CPU and wall seconds of each test: set-up, call and teardown."""
    if not CPU_REPORT:
        yield
        return
    cpu, wall = cpu_seconds(), time.monotonic()
    yield
    seconds = item.config.stash.setdefault(CPU_SECONDS, {})
    # The last test's teardown also stopped the session's fixtures: that is counted on its own.
    apart_cpu, apart_wall = seconds.get(SESSION_TEARDOWN, (0.0, 0.0))
    seconds[item.nodeid] = (cpu_seconds() - cpu - apart_cpu, time.monotonic() - wall - apart_wall)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """With REGRESS_TEST_CPU=1, count the last test's teardown, which stops the session's servers, on its own."""
    if not CPU_REPORT or nextitem is not None:
        yield
        return
    cpu, wall = cpu_seconds(), time.monotonic()
    yield
    item.config.stash.setdefault(CPU_SECONDS, {})[SESSION_TEARDOWN] = (cpu_seconds() - cpu, time.monotonic() - wall)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """With REGRESS_TEST_CPU=1, list the tests by CPU seconds, then each file's total and the session's.

    A session-scoped fixture's set-up counts in the first test that requests it; a server the
    session started (`prefect_server`) counts once it has stopped, in the teardown after the
    last test, listed on its own.
    """
    seconds = config.stash.get(CPU_SECONDS, {})
    if not seconds:
        return
    write = terminalreporter.write_line
    terminalreporter.section("CPU seconds per test (user + sys, with child processes)")
    for nodeid, (cpu, wall) in sorted(seconds.items(), key=lambda pair: -pair[1][0]):
        write(f"{cpu:8.1f} cpu {wall:8.1f} wall  {nodeid}")
    files: dict[str, float] = {}
    for nodeid, (cpu, _) in seconds.items():
        files[nodeid.split("::")[0]] = files.get(nodeid.split("::")[0], 0.0) + cpu
    terminalreporter.section("CPU seconds per file")
    for name, cpu in sorted(files.items(), key=lambda pair: -pair[1]):
        write(f"{cpu:8.1f} cpu  {name}")
    counted = sum(cpu for cpu, _ in seconds.values())
    tests = len(seconds) - (SESSION_TEARDOWN in seconds)
    write(f"{counted:8.1f} cpu  {tests} tests and the session's teardown; the whole session: {cpu_seconds():.1f} cpu")


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[str]:
    """The session's one Prefect server (SQLite in a temporary folder): its API URL, active in the settings.

    Tiers that run flows request it once (tests/flows and tests/e2e conftest.py), and
    `tests.helpers.regress` points commands at it, so no command starts a server of its own.
    The server outlives each test: a test that reads back what it holds (flow runs, events,
    automations, concurrency limits) filters on names of its own.
    """
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield str(PREFECT_API_URL.value())


@pytest.fixture
def table() -> pd.DataFrame:
    return make_table()


@pytest.fixture
def table_csv(tmp_path, table) -> str:
    path = tmp_path / "table.csv"
    table.to_csv(path, index=False)
    return str(path)


@pytest.fixture
def home(tmp_path) -> str:
    return str(tmp_path / "home")


@pytest.fixture(scope="session")
def trained_home(tmp_path_factory) -> str:
    home = str(tmp_path_factory.mktemp("trained") / "home")
    train_package(home)
    return home


@pytest.fixture(scope="session")
def ui_stack(tmp_path_factory):
    """`regress ui start` on a fresh workspace, as `make ui` runs it: the workspace and the stack's state.

    One per session (its start costs tens of seconds); a module points its client at it with
    `temporary_settings({PREFECT_API_URL: state["api_url"]})` for its own tests only.
    """
    from regress_cli import local_server
    from regress_core.pipeline.workspace import Workspace

    ws = Workspace.at(tmp_path_factory.mktemp("ui") / "home")
    state = local_server.start(ws, port=local_server.free_port())
    try:
        yield ws, state
    finally:
        local_server.stop(ws)


@pytest.fixture(scope="module")
def package(trained_home):
    """The champion of `trained_home`, loaded."""
    from regress_core.registry.package import load_package

    registry = model_registry(trained_home)
    return load_package(registry, registry.champion())


@pytest.fixture
def memory_url(tmp_path, monkeypatch) -> Iterator[str]:
    """A fresh prefix on fsspec's in-memory filesystem (the object-storage code path), removed afterwards.

    This machine's cache for the remote workspace goes to the test's folder. Each opening of an
    object for reading gets a handle of its own, as on S3: fsspec's memory filesystem hands every
    reader the one stored file object, so two threads reading an object at once (scoring hashes
    its input beside reading it) would move each other's position.
    """
    import uuid

    import fsspec
    from fsspec.implementations.memory import MemoryFile, MemoryFileSystem

    shared_open = MemoryFileSystem._open

    def own_handle(self, path, mode="rb", *args, **kwargs):  # type: ignore[no-untyped-def]
        handle = shared_open(self, path, mode, *args, **kwargs)
        if mode == "rb":
            return MemoryFile(self, handle.path, handle.getvalue())
        return handle

    monkeypatch.setattr(MemoryFileSystem, "_open", own_handle)
    monkeypatch.setenv("REGRESS_CACHE_DIR", str(tmp_path / "cache"))
    root = f"memory://bucket-{uuid.uuid4().hex}"
    yield root
    fs = fsspec.filesystem("memory")
    if fs.exists(root.removeprefix("memory://")):
        fs.rm(root.removeprefix("memory://"), recursive=True)
