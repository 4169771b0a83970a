"""Content hashing and atomic file writes."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

_CHUNK = 1 << 20


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


def atomic_write(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Write a file through a temporary sibling, fsync it, then rename it into place.

    Args:
        path: Final location. Readers never see a partial file there.
        write: Called with the temporary path; must create the file.

    Returns:
        The final path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp_name)
    try:
        write(tmp_path)
        with open(tmp_path, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp_path, path)
        fsync_dir(path.parent)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
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
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(line.rstrip("\n") + "\n")
        handle.flush()
        os.fsync(handle.fileno())
