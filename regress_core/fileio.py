"""Content hashing, atomic file writes and reading YAML files.

Files are created with the mode the process's umask implies (0644 under umask 022), as
`open` would create them, so other users of a shared folder can read predictions and
registry files. A full disk or a read-only folder is reported as a StorageError naming the
file being written; its temporary sibling is removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from regress_core.errors import ConfigError, storage_errors

_CHUNK = 1 << 20
_CREATE_ATTEMPTS = 100


def sha256_file(path: str | Path) -> str:
    """Return the hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_text(*parts: str) -> str:
    """Return the hex SHA-256 of the given strings joined by newlines."""
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def canonical_json(value: Any) -> str:
    """Serialise a JSON-compatible value the same way every time (sorted keys)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def fsync_dir(path: str | Path) -> None:
    """Flush a directory entry so that a rename inside it survives a crash."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def process_alive(pid: int) -> bool:
    """Whether a process of this machine still runs (whose temporary files must be left alone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def discard_file(path: Path) -> None:
    """Remove a temporary file if it is there; never fail (a read-only folder refuses even that)."""
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def create_temporary(folder: Path, *, prefix: str, suffix: str) -> Path:
    """Create a new empty file with a random name in `folder`, readable as the umask allows.

    Unlike `tempfile.mkstemp`, whose files are private (0600), the file gets the mode an
    ordinary `open` would give it, so it keeps that mode when renamed into place.
    """
    for _ in range(_CREATE_ATTEMPTS):
        candidate = folder / f"{prefix}{secrets.token_hex(4)}{suffix}"
        try:
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return candidate
    raise FileExistsError(f"no free temporary name in {folder}")


def atomic_write(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Write a file through a temporary sibling, fsync it, then rename it into place.

    Args:
        path: Final location. Readers never see a partial file there.
        write: Called with the temporary path; must create the file.

    Returns:
        The final path.

    Raises:
        StorageError: the disk is full or the folder cannot be written; nothing is left behind.
    """
    path = Path(path)
    with storage_errors(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp_path = create_temporary(path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            write(tmp_path)
            with open(tmp_path, "rb+") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp_path, path)
            fsync_dir(path.parent)
        except BaseException:
            discard_file(tmp_path)
            raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Atomically write a UTF-8 text file."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def atomic_write_json(path: str | Path, value: Any) -> Path:
    """Atomically write a JSON document, indented for people."""
    return atomic_write_text(path, json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")


def append_line(path: str | Path, line: str) -> None:
    """Append one line to a file and fsync it (used for append-only audit logs)."""
    path = Path(path)
    with storage_errors(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(line.rstrip("\n") + "\n")
            handle.flush()
            os.fsync(handle.fileno())


def read_yaml(path: str | Path, *, what: str) -> Any:
    """Read a YAML (or JSON) file, with one line naming `what` it is when it cannot be read.

    Raises:
        ConfigError: the file is missing, unreadable or not valid YAML.
    """
    path = Path(path)
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{what} not found: {path}") from exc
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read {what} {path}: {str(exc).splitlines()[0]}") from exc
