"""A throwaway PostgreSQL cluster on loopback, run as the `postgres` system user when we are root."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from tests.servers.servers import HOST, ServerError, as_user, free_ports, running, server_error, wait_until

DATABASE = "prefect"
SUPERUSER = "postgres"
SYSTEM_USER = "postgres"
STARTUP_TIMEOUT_S = 60
INSTALL_HINT = "apt-get install -y postgresql"


def find_postgres_bin() -> Path | None:
    """The newest Debian PostgreSQL bin folder, else the folder that `initdb` on PATH resolves to."""
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda path: int(path.parts[-3]))
    if debian:
        return debian[-1].parent
    # /usr/local/bin/initdb, where present, is a link into such a folder.
    found = shutil.which("initdb")
    if found and (Path(found).resolve().parent / "postgres").is_file():
        return Path(found).resolve().parent
    return None


def server_user() -> str | None:
    """postgres refuses to run as root: as root, run it as the postgres system user."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        raise ServerError(
            f"running as root needs the {SYSTEM_USER!r} system user ({INSTALL_HINT} creates it)"
        ) from None
    return SYSTEM_USER


def psql(bin_dir: Path, url: str, sql: str) -> str:
    """Run `sql` with psql against the database of `url`; its unaligned output."""
    parts = urlsplit(url)
    command = [
        str(bin_dir / "psql"),
        "-h",
        parts.hostname or HOST,
        "-p",
        str(parts.port),
        "-U",
        parts.username or SUPERUSER,
    ]
    command += ["-d", parts.path.lstrip("/"), "-v", "ON_ERROR_STOP=1", "-X", "-tA", "-c", sql]
    done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise ServerError(f"psql failed with code {done.returncode}: {done.stderr.strip()}")
    return done.stdout.strip()


def initdb(bin_dir: Path, data_dir: Path, log_path: Path, user: str | None) -> None:
    command = [str(bin_dir / "initdb"), "-D", str(data_dir), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8"]
    command += ["--no-locale", "--no-sync"]
    with open(log_path, "ab") as log:
        done = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, cwd=data_dir.parent, **as_user(user))
    if done.returncode != 0:
        raise server_error("initdb", f"failed with code {done.returncode}", log_path)


def is_ready(bin_dir: Path, port: int) -> bool:
    command = [str(bin_dir / "pg_isready"), "-q", "-h", HOST, "-p", str(port)]
    return subprocess.run(command, timeout=10).returncode == 0


@contextlib.contextmanager
def running_postgres(bin_dir: Path) -> Iterator[str]:
    """Initialise and start a cluster with trust auth on loopback, create the prefect database, yield its URL.

    The cluster lives in a fresh folder under the system temp folder (not pytest's, which only
    root may enter) owned by the server's user, with its unix socket there too; it is deleted on exit.
    """
    user = server_user()
    root = Path(tempfile.mkdtemp(prefix="regress-postgres-"))
    try:
        if user is not None:
            shutil.chown(root, user, user)
        data_dir, log_path = root / "data", root / "postgres.log"
        initdb(bin_dir, data_dir, log_path, user)
        (port,) = free_ports(1)
        command = [str(bin_dir / "postgres"), "-D", str(data_dir), "-p", str(port), "-k", str(root)]
        # Durability is of no use to a cluster deleted at the end of the session.
        for setting in (f"listen_addresses={HOST}", "fsync=off", "synchronous_commit=off", "full_page_writes=off"):
            command += ["-c", setting]
        # SIGINT is postgres's fast shutdown: it does not wait for clients to disconnect.
        with running(command, log_path, env=os.environ, cwd=root, user=user, stop_signal=signal.SIGINT) as process:
            wait_until(
                lambda: is_ready(bin_dir, port),
                what="PostgreSQL",
                process=process,
                log_path=log_path,
                timeout_s=STARTUP_TIMEOUT_S,
            )
            psql(bin_dir, f"postgresql://{SUPERUSER}@{HOST}:{port}/postgres", f"CREATE DATABASE {DATABASE}")
            yield f"postgresql+asyncpg://{SUPERUSER}@{HOST}:{port}/{DATABASE}"
    finally:
        shutil.rmtree(root, ignore_errors=True)
