"""One model's registry files in a local folder, safe for concurrent runs on one machine.

Layout under the model's folder (`<registry>/models/<name>/`, see `catalog`):
    versions/v0001/...    complete packages, each with manifest.json (SHA-256 of every file)
    staging/<id>/         packages being written; never read
    switch.json           the journal of a champion switch under way (see `registered_model`)
    champion.json         the champion pointer, replaced atomically
    history.jsonl         append-only audit history of champion changes
    abandoned-switches.jsonl  switches a crash stopped before they took effect
    decisions/v0001.jsonl every promotion decision record about each version
    cards/v0001.md        each version's model card (see `card`), outside the sealed package
    .lock                 the file lock around every read-compare-switch

A version becomes visible only by renaming a finished staging folder, so a crash leaves
either a complete version or nothing. Documents are replaced by writing a sibling, syncing
it and renaming it into place; logs are appended to and synced line by line.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from filelock import FileLock

from regress_core.fileio import append_line, atomic_write, fsync_dir
from regress_core.registry.journal import DamagedFile, cut_torn_tail, read_log, set_damaged_lines_aside
from regress_core.registry.manifest import MANIFEST, VERSION_PATTERN
from regress_core.registry.storage import ABANDONED, HISTORY, LOCK_TIMEOUT_S

STALE_STAGING_S = 24 * 3600
LOG_SUFFIX = ".jsonl"


class LocalStorage:
    """A model's files in one local folder (see the module docstring).

    Args:
        root: The model's folder (created on first write).
    """

    def __init__(self, root: str | Path) -> None:
        self._root = Path(root)

    def __repr__(self) -> str:
        return f"LocalStorage({str(self._root)!r})"

    @property
    def root(self) -> Path:
        return self._root

    def where(self, key: str) -> str:
        return str(self._root / key)

    def own_lock(self) -> AbstractContextManager[object]:
        """A file lock in the folder."""
        self._root.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self._root / ".lock"), timeout=LOCK_TIMEOUT_S)

    def read_bytes(self, key: str) -> bytes | None:
        path = self._root / key
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise DamagedFile(str(path), f"unreadable: {exc}") from exc

    def write_bytes(self, key: str, data: bytes) -> None:
        atomic_write(self._root / key, lambda tmp: tmp.write_bytes(data))

    def move_aside(self, key: str) -> None:
        path = self._root / key
        path.replace(path.with_name(path.name + ".damaged"))

    def remove(self, key: str) -> None:
        """Unlink the file and sync its folder's entry, so the removal survives a crash."""
        path = self._root / key
        if path.exists():
            path.unlink()
            fsync_dir(path.parent)

    # Logs: one JSON-lines file each.
    def _log_path(self, log: str) -> Path:
        return self._root / f"{log}{LOG_SUFFIX}"

    def append(self, log: str, record: dict[str, Any]) -> None:
        """Append a record, after cutting a torn last line a crash left."""
        path = self._log_path(log)
        cut_torn_tail(path)
        append_line(path, json.dumps(record, sort_keys=True))

    def read_log(self, log: str) -> list[dict[str, Any]]:
        """A log's records; a torn last line (an interrupted append) is left out."""
        return read_log(self._log_path(log))

    def mend_log(self, log: str) -> list[str]:
        path = self._log_path(log)
        return [f"cut a torn last line (an interrupted append) from {path.name}"] if cut_torn_tail(path) else []

    def set_damaged_records_aside(self) -> list[str]:
        """Move malformed lines of every log to `<log>.damaged` beside it."""
        done = []
        logs = [self._log_path(HISTORY), self._log_path(ABANDONED)]
        for path in [*logs, *sorted((self._root / "decisions").glob(f"*{LOG_SUFFIX}"))]:
            moved = set_damaged_lines_aside(path) if path.is_file() else 0
            if moved:
                done.append(f"moved {moved} damaged line(s) of {path.name} to {path.name}.damaged")
        return done

    # Versions: one folder each, renamed into versions/ when complete.
    @property
    def _versions_dir(self) -> Path:
        return self._root / "versions"

    def version_names(self) -> list[str]:
        if not self._versions_dir.is_dir():
            return []
        return [name for name in os.listdir(self._versions_dir) if VERSION_PATTERN.match(name)]

    def published_versions(self) -> list[str]:
        return [name for name in self.version_names() if (self._versions_dir / name / MANIFEST).is_file()]

    def new_staging_dir(self) -> Path:
        path = self._root / "staging" / uuid.uuid4().hex
        path.mkdir(parents=True)
        return path

    def add_version(self, staging_dir: Path, version: str, files: dict[str, str]) -> None:
        """Rename the staging folder into versions/ (one atomic step) and sync the folder's entry."""
        self._versions_dir.mkdir(parents=True, exist_ok=True)
        os.rename(staging_dir, self._versions_dir / version)
        fsync_dir(self._versions_dir)

    def version_dir(self, version: str) -> Path:
        return self._versions_dir / version

    def local_copy(self, version: str, manifest: dict[str, Any], raw_manifest: bytes) -> Path:
        """The version's own folder."""
        return self.version_dir(version)

    def remove_leftovers(self) -> list[str]:
        """Remove staging folders older than a day (a crashed publish; a younger one may still be written)."""
        staging = self._root / "staging"
        if not staging.is_dir():
            return []
        removed = []
        cutoff = time.time() - STALE_STAGING_S
        for folder in staging.iterdir():
            if folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(f"removed abandoned staging folder {folder.name}")
        return removed
