"""A refusal by the Prefect API met after the first check (a block, automations) is one line and exit 4 too.

The servers tier runs the same against a real Prefect server with basic auth; here a server
answers every request as such a server answers a client without its string.
"""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest


class Refusing(http.server.BaseHTTPRequestHandler):
    def refuse(self) -> None:
        self.send_response(401, "Unauthorized")
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = do_PATCH = do_DELETE = refuse

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def refusing_api() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Refusing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api"
    finally:
        server.shutdown()


@pytest.mark.parametrize(
    ("args", "extra_env"),
    [
        (["ui", "automations"], {}),
        (["models", "list", "--home", "{home}"], {"REGRESS_STORAGE_BLOCK": "aws-credentials/regress"}),
    ],
    ids=["automations", "storage-block"],
)
def test_a_refusal_past_the_first_check_is_one_line(refusing_api, tmp_path, args, extra_env):
    env = {**os.environ, "PREFECT_API_URL": refusing_api, "PYTHONUNBUFFERED": "1", **extra_env}
    command = [arg.format(home=tmp_path / "home") for arg in args]
    done = subprocess.run(
        [sys.executable, "-m", "regress_cli.main", *command], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 4, done.stderr
    assert done.stderr == (
        f"regress: error: the Prefect API at {refusing_api} refused this client (401 Unauthorized): "
        "check PREFECT_API_AUTH_STRING (or PREFECT_API_KEY) against the server's\n"
    )
