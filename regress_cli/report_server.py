"""A read-only HTTP server of a local registry's reports, as `regress ui start` runs it.

It answers GET and HEAD for exactly these paths, and 404 for anything else:

- `/`: an index of the models and their versions;
- `/models/<model>/<version>/report.html` and `/models/<model>/<version>/plots/<name>.png`;
- `/models/<model>/cards/<version>.md`: a version's model card, where one was written.

Other methods get 405. Files that resolve outside the registry (a symbolic link out of it) are
refused; packages' other files (weights, metadata) and folders are never listed or served.
With basic auth configured (the Prefect server's `user:password`) every request must carry it.

Run: `python -m regress_cli.report_server --registry DIR --host HOST --port PORT`; the auth
string comes from $PREFECT_SERVER_API_AUTH_STRING, never the command line.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hmac
import os
import re
import sys
import threading
from html import escape
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from regress_core.errors import RegistryError
from regress_core.registry.catalog import Registry
from regress_core.registry.manifest import VERSION_PATTERN

AUTH_ENV = "PREFECT_SERVER_API_AUTH_STRING"
NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]*"
VERSION = r"v\d{4,}"
ROUTES = (
    (re.compile(rf"^/models/(?P<model>{NAME})/(?P<version>{VERSION})/(?P<file>report\.html)$"), "text/html"),
    (re.compile(rf"^/models/(?P<model>{NAME})/(?P<version>{VERSION})/(?P<file>plots/{NAME}\.png)$"), "image/png"),
    (re.compile(rf"^/models/(?P<model>{NAME})/cards/(?P<version>{VERSION})(?P<file>\.md)$"), "text/plain"),
)
# The report's inline style and its plots (same origin) are all a page may load.
POLICY = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'"


def resolve_file(registry_dir: Path, path: str) -> tuple[Path, str] | None:
    """The file a request path names and its content type, or None when nothing may be served for it."""
    for pattern, content_type in ROUTES:
        match = pattern.match(path)
        if match is None:
            continue
        try:
            model_dir = Path(Registry(registry_dir).model(match["model"]).root)
        except RegistryError:
            return None
        if match["file"] == ".md":
            candidate = model_dir / "cards" / f"{match['version']}.md"
        else:
            candidate = model_dir / "versions" / match["version"] / match["file"]
        real, root = candidate.resolve(), registry_dir.resolve()
        if real.is_file() and real.is_relative_to(root):
            return real, content_type
        return None
    return None


def index_page(registry_dir: Path) -> str:
    """An HTML list of the registry's models with links to each version's report and card."""
    registry = Registry(registry_dir)
    items = []
    for name in registry.models():
        model = registry.model(name)
        root = Path(model.root)
        versions = []
        for version in sorted(model.versions(), key=lambda text: int(text[1:]), reverse=True):
            if not VERSION_PATTERN.match(version):
                continue
            base = f"/models/{quote(name)}"
            links = f'<a href="{base}/{version}/report.html">{version}</a>'
            if (root / "cards" / f"{version}.md").is_file():
                links += f' (<a href="{base}/cards/{version}.md">card</a>)'
            versions.append(f"<li>{links}</li>")
        items.append(f"<li>{escape(name)}<ul>{''.join(versions)}</ul></li>")
    body = f"<ul>{''.join(items)}</ul>" if items else "<p>No models yet.</p>"
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>regress reports</title></head>"
        f"<body><h1>regress reports</h1>{body}</body></html>"
    )


def basic_auth_ok(header: str | None, auth_string: str) -> bool:
    """Whether an Authorization header carries `auth_string` (user:password) as HTTP basic auth."""
    if not header or not header.startswith("Basic "):
        return False
    try:
        given = base64.b64decode(header.removeprefix("Basic ").strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    return hmac.compare_digest(given, auth_string.encode())


class ReportHandler(BaseHTTPRequestHandler):
    """Answers GET/HEAD from the server's registry; every other method gets 405."""

    server: ReportServer
    server_version = "regress-reports"
    sys_version = ""

    def do_GET(self) -> None:
        self._answer(body=True)

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def _refuse_method(self) -> None:
        self._send(HTTPStatus.METHOD_NOT_ALLOWED, b"method not allowed\n", "text/plain", {"Allow": "GET, HEAD"})

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = do_CONNECT = _refuse_method

    def _answer(self, *, body: bool) -> None:
        auth = self.server.auth_string
        if auth and not basic_auth_ok(self.headers.get("Authorization"), auth):
            challenge = {"WWW-Authenticate": 'Basic realm="regress reports", charset="UTF-8"'}
            self._send(HTTPStatus.UNAUTHORIZED, b"authentication required\n", "text/plain", challenge, body=body)
            return
        path = unquote(urlsplit(self.path).path)
        if path in ("/", "/index.html"):
            page = index_page(self.server.registry_dir).encode()
            self._send(HTTPStatus.OK, page, "text/html", body=body)
            return
        found = resolve_file(self.server.registry_dir, path) if ".." not in path else None
        if found is None:
            self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain", body=body)
            return
        file_path, content_type = found
        try:
            data = file_path.read_bytes()
        except OSError:
            self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain", body=body)
            return
        self._send(HTTPStatus.OK, data, content_type, body=body)

    def _send(
        self,
        status: HTTPStatus,
        data: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
        *,
        body: bool = True,
    ) -> None:
        self.send_response(status)
        text = content_type.startswith("text/")
        self.send_header("Content-Type", f"{content_type}; charset=utf-8" if text else content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", POLICY)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if body:
            self.wfile.write(data)


class ReportServer(ThreadingHTTPServer):
    """A threading HTTP server bound to (host, port) that serves `registry_dir` read-only."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], registry_dir: Path, *, auth_string: str | None = None) -> None:
        if ":" in address[0]:
            import socket

            self.address_family = socket.AF_INET6
        super().__init__(address, ReportHandler)
        self.registry_dir = registry_dir
        self.auth_string = auth_string or None


def serve_in_thread(server: ReportServer) -> threading.Thread:
    """Serve `server` from a daemon thread (stop it with `server.shutdown()`)."""
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="regress-report-server", daemon=True
    )
    thread.start()
    return thread


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--registry", required=True, type=Path, help="the registry folder to serve")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    server = ReportServer((args.host, args.port), args.registry, auth_string=os.environ.get(AUTH_ENV, "").strip())
    print(f"serving the reports of {args.registry} on {args.host}:{args.port}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
