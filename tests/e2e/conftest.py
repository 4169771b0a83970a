import pytest


@pytest.fixture(scope="session", autouse=True)
def prefect_harness(prefect_server: str) -> str:
    """Commands run on the session's Prefect server instead of each starting one (tests.helpers.regress)."""
    return prefect_server
