import pytest


@pytest.fixture(scope="session", autouse=True)
def prefect_harness(prefect_server: str) -> str:
    """Flows run on the session's Prefect server, started before any module's fixtures change the settings."""
    return prefect_server
