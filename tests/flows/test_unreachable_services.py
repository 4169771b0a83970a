"""A configured Prefect API or object store that does not answer, or refuses the client, is one line and exit 4."""

import http.server
import os
import subprocess
import sys
import threading

import pytest

from regress_core.registry.operations import promote_version
from tests.helpers import FAST_ARGS, model_registry, one_error_line, session_api_url, train_package

DEAD_API = "http://127.0.0.1:1/api"


def regress_against(api_url: str, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PREFECT_API_URL": api_url, "PYTHONUNBUFFERED": "1", **extra_env}
    return subprocess.run(
        [sys.executable, "-m", "regress_cli.main", *args], capture_output=True, text=True, env=env, timeout=120
    )


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> str:
    """Two versions, the second promoted by hand: v0001 can be promoted and the champion rolled back."""
    home = str(tmp_path_factory.mktemp("unreachable") / "home")
    train_package(home, seed=0)
    registry = model_registry(home)
    first = registry.champion()
    train_package(home, seed=1)
    other = next(version for version in registry.versions() if version != first)
    if registry.champion() == first:
        promote_version(registry, other, reason="set up")
    return home


@pytest.mark.parametrize(
    "args",
    [
        ["models", "promote", "train@v0001", "--reason", "checked by hand"],  # v0002 is the champion
        ["models", "rollback", "train", "--reason", "checked by hand"],
        ["train", "--data", "linear", *FAST_ARGS],
        ["score", "--input", "{rows}", "--output", "{out}"],
    ],
    ids=["promote", "rollback", "train", "score"],
)
def test_an_unreachable_prefect_api_is_one_line_with_the_address_and_a_hint(home, tmp_path, args):
    rows = tmp_path / "rows.csv"
    rows.write_text("a,b\n1.0,2.0\n")
    filled = [arg.format(rows=rows, out=tmp_path / "out.parquet") for arg in args]
    line = one_error_line(regress_against(DEAD_API, *filled, "--home", home), 4)
    assert f"the Prefect API at {DEAD_API} cannot be reached" in line
    assert "PREFECT_API_URL" in line
    assert not (tmp_path / "out.parquet").exists()


class Refusing(http.server.BaseHTTPRequestHandler):
    """A server that answers every request as a Prefect server with basic auth answers a client without it."""

    def do_GET(self) -> None:
        self.send_response(401, "Unauthorized")
        self.send_header("WWW-Authenticate", 'Basic realm="prefect"')
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def test_a_prefect_api_that_refuses_the_client_names_the_auth_setting(home):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Refusing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/api"
        line = one_error_line(
            regress_against(url, "models", "rollback", "train", "--reason", "by hand", "--home", home), 4
        )
    finally:
        server.shutdown()
    assert f"the Prefect API at {url} refused this client (401 Unauthorized)" in line
    assert "PREFECT_API_AUTH_STRING" in line


def test_an_object_store_that_does_not_answer_is_one_line_with_the_endpoint():
    # A child process: the store's settings become fsspec's process-wide defaults.
    done = regress_against(
        session_api_url(),
        *("models", "list", "--home", "s3://regress-unreachable/ws"),
        AWS_ENDPOINT_URL="http://127.0.0.1:1",
        AWS_ACCESS_KEY_ID="regress-test",
        AWS_SECRET_ACCESS_KEY="regress-test-secret",
        AWS_MAX_ATTEMPTS="1",  # botocore: no retries, so the refusal comes at once
    )
    line = one_error_line(done, 4)
    assert "cannot list s3://regress-unreachable/ws/registry/models" in line
    assert "is the object store running and reachable at AWS_ENDPOINT_URL=http://127.0.0.1:1?" in line


def test_the_champion_is_unchanged_after_the_refusals(home):
    assert model_registry(home, "train").champion() == "v0002"
