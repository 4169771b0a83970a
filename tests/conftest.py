"""Fixtures of every tier, the environment of the test session, and tier markers by folder."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from tests.helpers import make_table, train_package

TIERS = ("unit", "contract", "flows", "e2e", "servers")


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    # Commands run by the tests keep their Prefect database away from the user's ~/.prefect.
    os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="regress-tests-prefect-"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test with its tier, the folder it lives in, so `-m` selects tiers."""
    for item in items:
        tier = Path(str(item.fspath)).parent.name
        if tier in TIERS:
            item.add_marker(getattr(pytest.mark, tier))


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


@pytest.fixture
def memory_url(tmp_path, monkeypatch) -> Iterator[str]:
    """A fresh prefix on fsspec's in-memory filesystem (the object-storage code path), removed afterwards.

    This machine's cache for the remote workspace goes to the test's folder.
    """
    import uuid

    import fsspec

    monkeypatch.setenv("REGRESS_CACHE_DIR", str(tmp_path / "cache"))
    root = f"memory://bucket-{uuid.uuid4().hex}"
    yield root
    fs = fsspec.filesystem("memory")
    if fs.exists(root.removeprefix("memory://")):
        fs.rm(root.removeprefix("memory://"), recursive=True)
