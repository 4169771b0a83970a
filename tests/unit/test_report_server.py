"""The read-only report server: a version's report, plots and card over HTTP, and nothing else."""

from __future__ import annotations

import base64
import contextlib
import http.client
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from regress_cli.local_server import start_report_server, url_host
from regress_cli.render import print_ui_started
from regress_cli.report_server import ReportServer, serve_in_thread
from regress_core.errors import RegressError
from regress_core.pipeline.workspace import Workspace
from regress_core.registry.catalog import Registry


@pytest.fixture
def registry_dir(trained_home, tmp_path) -> Path:
    """A copy of a trained workspace's registry, with a model card and a link that leads out of it."""
    folder = tmp_path / "registry"
    shutil.copytree(Path(trained_home) / "registry", folder, symlinks=True)
    model = Registry(folder).model("train")
    (Path(model.root) / "cards").mkdir()
    (Path(model.root) / "cards" / "v0001.md").write_text("# Model card of train@v0001\n")
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"outside the registry")
    (model.version_dir("v0001") / "plots" / "outside.png").symlink_to(secret)
    return folder


@contextlib.contextmanager
def serving(registry_dir: Path, auth: str | None = None) -> Iterator[tuple[str, int]]:
    server = ReportServer(("127.0.0.1", 0), registry_dir, auth_string=auth)
    thread = serve_in_thread(server)
    try:
        yield server.server_address[:2]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def address(registry_dir) -> Iterator[tuple[str, int]]:
    with serving(registry_dir) as served:
        yield served


def request(address, method: str, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
    connection = http.client.HTTPConnection(*address, timeout=10)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_serves_the_report_and_its_plots(address):
    status, headers, body = request(address, "GET", "/models/train/v0001/report.html")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert b'<img src="plots/predicted_vs_actual.png"' in body  # relative: it resolves on this server
    status, headers, body = request(address, "GET", "/models/train/v0001/plots/predicted_vs_actual.png")
    assert (status, headers["Content-Type"]) == (200, "image/png")
    assert body.startswith(b"\x89PNG")
    status, headers, body = request(address, "HEAD", "/models/train/v0001/plots/residuals.png")
    assert (status, body) == (200, b"")
    assert int(headers["Content-Length"]) > 1000


def test_serves_the_model_card_and_an_index(address):
    status, _, body = request(address, "GET", "/models/train/cards/v0001.md")
    assert (status, body) == (200, b"# Model card of train@v0001\n")
    status, _, body = request(address, "GET", "/")
    assert status == 200
    assert b'href="/models/train/v0001/report.html"' in body
    assert b'href="/models/train/cards/v0001.md"' in body


@pytest.mark.parametrize(
    "path",
    [
        "/models/train/v0001/package.json",
        "/models/train/v0001/model.pt",
        "/models/train/v0001/manifest.json",
        "/models/train/v0001/",
        "/models/train/v0001/plots/",
        "/models/train/",
        "/models/train/champion.json",
        "/models/train/v0002/report.html",
        "/models/other/v0001/report.html",
        "/models/train/v0001/plots/../package.json",
        "/models/train/v0001/plots/%2e%2e/package.json",
        "/models/train/v0001/plots/..%2f..%2f..%2fsecret.png",
        "/models/..%2f..%2fregistry/v0001/report.html",
        "/models/train/v0001/plots/outside.png",  # a link out of the registry
        "/registry/models/train/versions/v0001/report.html",
    ],
)
def test_anything_else_is_not_found(address, path):
    status, _, body = request(address, "GET", path)
    assert (status, body) == (404, b"not found\n")


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_writes_are_refused(address, method):
    status, headers, _ = request(address, method, "/models/train/v0001/report.html")
    assert status == 405
    assert headers["Allow"] == "GET, HEAD"


def test_basic_auth_is_required_when_configured(registry_dir):
    with serving(registry_dir, auth="regress:s3cret") as address:
        path = "/models/train/v0001/report.html"
        status, headers, _ = request(address, "GET", path)
        assert status == 401
        assert headers["WWW-Authenticate"].startswith("Basic ")
        wrong = base64.b64encode(b"regress:guess").decode()
        assert request(address, "GET", path, {"Authorization": f"Basic {wrong}"})[0] == 401
        right = base64.b64encode(b"regress:s3cret").decode()
        assert request(address, "GET", path, {"Authorization": f"Basic {right}"})[0] == 200
        assert request(address, "GET", "/", {"Authorization": f"Basic {right}"})[0] == 200


def test_ui_start_prints_where_the_reports_are(capsys):
    state = {"url": "http://127.0.0.1:4200", "api_url": "http://127.0.0.1:4200/api", "logs": "/w/ui/logs"}
    print_ui_started({**state, "report_url": "http://127.0.0.1:4201"})
    assert "model reports (read-only): http://127.0.0.1:4201/\n" in capsys.readouterr().out
    print_ui_started(state)  # a workspace in object storage: no report server
    assert "model reports" not in capsys.readouterr().out


@pytest.mark.parametrize(("host", "expected"), [("127.0.0.1", "127.0.0.1"), ("10.0.0.5", "10.0.0.5"), ("::1", "[::1]")])
def test_report_links_name_the_address_the_server_is_bound_to(host, expected):
    assert url_host(host) == expected


def test_a_report_server_that_cannot_start_is_reported_with_its_log(tmp_path):
    ws = Workspace.at(tmp_path / "home")
    with pytest.raises(RegressError) as failed:
        start_report_server(ws, dict(os.environ), "192.0.2.1", avoid=0)  # an address this machine does not have
    log_path = ws.root / "ui" / "logs" / "reports.log"
    assert str(failed.value).startswith("the report server did not start on port ")
    assert str(failed.value).endswith(f"; see {log_path}")
    assert "Cannot assign requested address" in log_path.read_text()
