"""One named model in the registry: immutable versioned packages, a champion pointer and an audit history.

Layout under the model's folder (`<registry>/models/<name>/`, see `catalog`):
    versions/v0001/...   complete packages, each with manifest.json (SHA-256 of every file)
    staging/<id>/        packages being written; never read
    champion.json        the champion pointer, replaced atomically
    history.jsonl        append-only audit history of champion changes
    decisions/v0001.jsonl every promotion decision record about each version

A version becomes visible only by renaming a finished staging folder, so a crash leaves
either a complete version or nothing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from filelock import FileLock

from regress_core.errors import RegistryError
from regress_core.failpoints import failpoint
from regress_core.fileio import append_line, atomic_write_json, fsync_dir, sha256_file
from regress_core.registry.journal import cut_torn_tail, damaged, read_json, read_log, set_damaged_lines_aside
from regress_core.registry.signing import check_signature, signature_fields

MANIFEST = "manifest.json"
VERSION_PATTERN = re.compile(r"^v\d{4,}$")
LOCK_TIMEOUT_S = 600
STALE_STAGING_S = 24 * 3600
HISTORY = "history.jsonl"
POINTER = "champion.json"

# Hands out the lock around a model's read-compare-switch (a file lock by default; a lease
# shared by every machine, handed in by the orchestration layer, for a registry in object storage).
LockFactory = Callable[[], AbstractContextManager[object]]


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def write_manifest(package_dir: Path) -> dict[str, str]:
    """Record the SHA-256 of every file in a package folder, written last (signed when a key is set)."""
    files = {
        str(path.relative_to(package_dir)): sha256_file(path)
        for path in sorted(package_dir.rglob("*"))
        if path.is_file() and path.name != MANIFEST
    }
    atomic_write_json(package_dir / MANIFEST, {"files": files, **signature_fields(files)})
    return files


def check_package_files(package_dir: Path, manifest: dict[str, Any], version: str) -> None:
    """Refuse a package folder whose files differ from its manifest in any way."""
    expected = manifest["files"]
    present = {str(p.relative_to(package_dir)) for p in package_dir.rglob("*") if p.is_file() and p.name != MANIFEST}
    for name in sorted(set(expected) | present):
        path = package_dir / name
        if name not in expected:
            raise RegistryError(f"model version {version} was altered: unexpected file {name}")
        if not path.is_file():
            raise RegistryError(f"model version {version} is incomplete: {name} is missing")
        if sha256_file(path) != expected[name]:
            raise RegistryError(f"model version {version} was altered: checksum mismatch in {name}")


def parse_manifest(text: str, *, where: str, label: str) -> dict[str, Any]:
    """A manifest's content, with its files checked to be a mapping."""
    try:
        manifest = json.loads(text)
        if not isinstance(manifest.get("files"), dict):
            raise TypeError("its files are not a mapping")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise RegistryError(
            f"model version {label} has an unreadable manifest ({where}: {exc}); "
            "the version cannot be used: promote or retrain another"
        ) from exc
    return dict(manifest)


class ModelRegistry:
    """The versions of one named model in one local folder, safe for concurrent runs on one machine.

    Args:
        root: The model's folder.
        name: The model's name.
        lock: Hands out the lock around a read-compare-switch of the champion; a file lock in
            the folder when not given.
    """

    def __init__(self, root: str | Path, name: str, *, lock: LockFactory | None = None) -> None:
        self.root: Any = Path(root)
        self.name = name
        self._lock = lock

    def __repr__(self) -> str:
        return f"ModelRegistry({str(self.root)!r}, {self.name!r})"

    @property
    def versions_dir(self) -> Path:
        return self.root / "versions"

    def lock(self) -> AbstractContextManager[object]:
        """The lock around every read-compare-switch of the champion."""
        if self._lock is not None:
            return self._lock()
        self.root.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.root / ".lock"), timeout=LOCK_TIMEOUT_S)

    def new_staging_dir(self) -> Path:
        """A private folder to write a package into before it is published."""
        path = self.root / "staging" / uuid.uuid4().hex
        path.mkdir(parents=True)
        return path

    def check_version_name(self, version: str) -> str:
        """Refuse version names that are malformed or could escape the registry."""
        if not VERSION_PATTERN.match(version):
            raise RegistryError(f"invalid model version {version!r}: expected a name like v0001")
        return version

    def version_dir(self, version: str) -> Path:
        return self.versions_dir / self.check_version_name(version)

    def package_dir(self, version: str) -> Path:
        """A local folder holding the version's files (here, the version's own folder)."""
        return self.version_dir(version)

    def manifest_sha256(self, version: str) -> str:
        """The SHA-256 of the version's manifest: what identifies its content."""
        manifest = self.version_dir(version) / MANIFEST
        if not manifest.is_file():
            raise RegistryError(f"model version {self.name}@{version} not found in {self.root}")
        return sha256_file(manifest)

    def publish(self, staging_dir: Path, *, package_key: str | None = None) -> tuple[str, bool]:
        """Seal a staged package with its manifest and make it the next version.

        Args:
            staging_dir: A folder from `new_staging_dir`, fully written.
            package_key: Identity of the package's content; a version with the same key
                is returned instead of publishing a duplicate.

        Returns:
            The version name, and whether it is new.
        """
        write_manifest(staging_dir)
        self.versions_dir.mkdir(parents=True, exist_ok=True)
        failpoint("publish:staged")
        with self.lock():
            existing = self.find(package_key) if package_key else None
            if existing is not None:
                self.discard_staging(staging_dir)
                return existing, False
            version = self._next_version()
            os.rename(staging_dir, self.versions_dir / version)
            fsync_dir(self.versions_dir)
        failpoint("publish:renamed")
        return version, True

    def _next_version(self) -> str:
        """The name after every version folder or prefix, finished or not; callers hold `lock()`."""
        numbers = [int(name[1:]) for name in self._names()]
        return f"v{(max(numbers) + 1) if numbers else 1:04d}"

    def find(self, package_key: str) -> str | None:
        """The published version whose package key matches, if any."""
        for version in reversed(self.versions()):
            if self.metadata(version).get("package_key") == package_key:
                return version
        return None

    def _names(self) -> list[str]:
        if not self.versions_dir.is_dir():
            return []
        return sorted(name for name in os.listdir(self.versions_dir) if VERSION_PATTERN.match(name))

    def versions(self) -> list[str]:
        """Published versions, oldest first."""
        return [name for name in self._names() if (self.versions_dir / name / MANIFEST).is_file()]

    def verify(self, version: str) -> Path:
        """Check every file of a package against its manifest; return the package folder.

        Raises:
            RegistryError: if the version is missing, incomplete or altered, or its signature
                does not match the signing key in the environment.
        """
        package_dir = self.version_dir(version)
        manifest_path = package_dir / MANIFEST
        if not manifest_path.is_file():
            raise RegistryError(f"model version {self.name}@{version} not found in {self.root}")
        try:
            text = manifest_path.read_text()
        except OSError as exc:
            text = f"unreadable: {exc}"
        manifest = parse_manifest(text, where=str(manifest_path), label=f"{self.name}@{version}")
        check_signature(manifest, version)
        check_package_files(package_dir, manifest, version)
        return package_dir

    def metadata(self, version: str) -> dict[str, Any]:
        """The package's metadata (package.json) with its version name added."""
        key = f"versions/{self.check_version_name(version)}/package.json"
        data = self._read_json(key)
        if data is None:
            raise RegistryError(f"model version {self.name}@{version} not found in {self.root}")
        if not isinstance(data, dict):
            raise damaged(self._where(key), "it holds no package metadata", model=self.name)
        return {"version": version, **data}

    def _where(self, key: str) -> str:
        """A registry file as a person finds it."""
        return str(self.root / key)

    def _read_json(self, key: str) -> Any:
        return read_json(self.root / key, model=self.name)

    def _write_json(self, key: str, value: dict[str, Any]) -> None:
        atomic_write_json(self.root / key, value)

    def champion(self) -> str | None:
        """The champion version, or None before the first promotion."""
        pointer = self._pointer()
        return pointer["version"] if pointer else None

    def set_champion(self, version: str, *, action: str, reason: str, run: str | None = None) -> dict[str, Any]:
        """Switch the champion pointer atomically and append the change to the history.

        Callers hold `lock()` around the decision that leads here.
        """
        self.verify(version)
        entry = {
            "id": uuid.uuid4().hex,
            "time": utc_now(),
            "model": self.name,
            "action": action,
            "version": version,
            "previous": self.champion(),
            "reason": reason,
            "run": run,
        }
        # The pointer carries its audit entry: the switch is this one atomic write, and
        # `recover` appends the entry to the history if a crash comes between the two.
        self._write_json(POINTER, {"version": version, "since": entry["time"], "entry": entry})
        failpoint("gate:switched")
        self._append(HISTORY, entry)
        return entry

    def _append(self, log: str, record: dict[str, Any]) -> None:
        """Append a record to a log, after cutting a torn last line a crash left; callers hold `lock()`."""
        path = self.root / log
        cut_torn_tail(path)
        append_line(path, json.dumps(record, sort_keys=True))

    def _read_log(self, log: str) -> list[dict[str, Any]]:
        return read_log(self.root / log, model=self.name)

    def recover(self) -> list[str]:
        """Finish what a crashed run left undone; callers hold `lock()`.

        Appends a champion switch missing from the history, and removes staging folders
        older than a day (a crashed publish; never visible as a version).

        Returns:
            What was repaired, in words.
        """
        repaired = []
        if cut_torn_tail(self.root / HISTORY):
            repaired.append("cut a torn last line (an interrupted append) from history.jsonl")
        repaired += self._recover_history()
        staging = self.root / "staging"
        if staging.is_dir():
            cutoff = time.time() - STALE_STAGING_S
            for folder in staging.iterdir():
                if folder.stat().st_mtime < cutoff:
                    shutil.rmtree(folder, ignore_errors=True)
                    repaired.append(f"removed abandoned staging folder {folder.name}")
        return repaired

    def _recover_history(self) -> list[str]:
        """Append the champion switch a crash kept out of the history, if any."""
        pointer = self._pointer()
        entry = pointer.get("entry") if pointer else None
        if isinstance(entry, dict) and entry.get("id") not in {item.get("id") for item in self.history()}:
            self._append(HISTORY, entry)
            return [f"appended the missing audit entry for {entry.get('version')}"]
        return []

    def _pointer(self) -> dict[str, Any] | None:
        pointer = self._read_json(POINTER)
        if pointer is None:
            return None
        if not isinstance(pointer, dict) or "version" not in pointer:
            raise damaged(self._where(POINTER), "it names no champion version", model=self.name)
        if not isinstance(pointer["version"], str) or not VERSION_PATTERN.match(pointer["version"]):
            raise damaged(
                self._where(POINTER), f"its version {pointer['version']!r} is not a version name", model=self.name
            )
        return pointer

    def check_readable(self) -> None:
        """Refuse to go on (before anything is published) while the champion pointer or the history is damaged."""
        self._pointer()
        self.history()

    def history(self) -> list[dict[str, Any]]:
        """Every champion change, oldest first (a torn last line, an interrupted append, is left out)."""
        return self._read_log(HISTORY)

    def record_decision(self, version: str, decision: dict[str, Any]) -> None:
        """Append a gate decision about a version (a version can be gated by several runs); callers hold `lock()`."""
        record = {"time": utc_now(), **decision}
        self._append(f"decisions/{self.check_version_name(version)}.jsonl", record)

    def decisions(self, version: str) -> list[dict[str, Any]]:
        """Every gate decision about a version, oldest first."""
        return self._read_log(f"decisions/{self.check_version_name(version)}.jsonl")

    def repair(self) -> list[str]:
        """Mend damaged registry files under the lock, keeping everything still readable.

        Moves malformed log lines to `<log>.damaged`, rebuilds a damaged champion pointer from
        the newest history entry whose version verifies (or moves it aside when there is none),
        then finishes what a crash left (`recover`).

        Returns:
            What was done, in words (empty when nothing was damaged).
        """
        done = []
        with self.lock():
            done += self._set_damaged_records_aside()
            try:
                self._pointer()
            except RegistryError:
                done.append(self._rebuild_pointer())
            done += self.recover()
        return done

    def _set_damaged_records_aside(self) -> list[str]:
        done = []
        for log in [self.root / HISTORY, *sorted((self.root / "decisions").glob("*.jsonl"))]:
            moved = set_damaged_lines_aside(log) if log.is_file() else 0
            if moved:
                done.append(f"moved {moved} damaged line(s) of {log.name} to {log.name}.damaged")
        return done

    def _rebuild_pointer(self) -> str:
        for entry in reversed(self.history()):
            version = entry.get("version")
            try:
                self.verify(str(version))
            except RegistryError:
                continue
            self._write_json(POINTER, {"version": version, "since": entry.get("time"), "entry": entry})
            return f"rebuilt champion.json from the audit history: the champion is {version}"
        self._move_pointer_aside()
        return "champion.json was damaged and the history names no intact version: moved it aside; no champion now"

    def _move_pointer_aside(self) -> None:
        path = self.root / POINTER
        path.replace(path.with_name("champion.json.damaged"))

    def discard_staging(self, staging_dir: Path) -> None:
        shutil.rmtree(staging_dir, ignore_errors=True)
