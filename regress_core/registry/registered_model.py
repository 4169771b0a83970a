"""One named model in the registry: immutable versioned packages, a champion pointer and an audit history.

A `RegisteredModel` holds the rules; a `storage.Storage` holds the files (a local folder or an
object-storage prefix), so publishing, switching the champion and keeping the audit history
work the same way on both:

- A version is visible only once its manifest is written, and a reader uses it only once
  every file verifies against that manifest.
- Version numbers are handed out under the model's lock, past every version a publish
  started, so a crashed publish never makes two runs share a number.
- A champion switch and its history entry are seen together or not at all (`set_champion`):
  the switch is journaled before the pointer is written, the pointer carries the entry, and
  `recover` finishes a switch whose pointer was written or abandons one whose pointer never was.
- Every read-compare-switch of the champion runs under the model's lock.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from regress_core.errors import RegistryError
from regress_core.failpoints import failpoint
from regress_core.registry.journal import DamagedFile, damaged, parse_json, utc_now
from regress_core.registry.manifest import (
    MANIFEST,
    VERSION_PATTERN,
    check_package_files,
    check_version_name,
    parse_manifest,
    unreadable_manifest,
    version_number,
    write_manifest,
)
from regress_core.registry.signing import check_signature
from regress_core.registry.storage import ABANDONED, HISTORY, Storage, decisions_log

POINTER = "champion.json"
JOURNAL = "switch.json"

# Hands out the lock around a model's read-compare-switch (the storage's own lock by default; a
# lease shared by every machine, handed in by the orchestration layer, for object storage).
LockFactory = Callable[[], AbstractContextManager[object]]


class RegisteredModel:
    """The versions, champion and audit history of one named model.

    Args:
        storage: Where the model's files live.
        name: The model's name.
        lock: Hands out the lock around a read-compare-switch of the champion; the storage's
            own lock when not given.
    """

    def __init__(self, storage: Storage, name: str, *, lock: LockFactory | None = None) -> None:
        self.storage = storage
        self.name = name
        self._lock = lock

    def __repr__(self) -> str:
        return f"RegisteredModel({self.storage!r}, {self.name!r})"

    @property
    def root(self) -> Path | str:
        """The model's folder or URL."""
        return self.storage.root

    def lock(self) -> AbstractContextManager[object]:
        """The lock around every read-compare-switch of the champion."""
        if self._lock is not None:
            return self._lock()
        return self.storage.own_lock()

    # Documents and logs, with damage named for this model.
    def _read_json(self, key: str) -> Any:
        try:
            data = self.storage.read_bytes(key)
            return None if data is None else parse_json(data, where=self.storage.where(key))
        except DamagedFile as exc:
            raise damaged(exc.where, exc.fault, model=self.name) from exc

    def _write_json(self, key: str, value: dict[str, Any]) -> None:
        self.storage.write_bytes(key, (json.dumps(value, indent=2, sort_keys=True, default=str) + "\n").encode())

    def _read_log(self, log: str) -> list[dict[str, Any]]:
        try:
            return self.storage.read_log(log)
        except DamagedFile as exc:
            raise damaged(exc.where, exc.fault, model=self.name) from exc

    # Versions.
    def new_staging_dir(self) -> Path:
        """A private local folder to write a package into before it is published."""
        return self.storage.new_staging_dir()

    def discard_staging(self, staging_dir: Path) -> None:
        shutil.rmtree(staging_dir, ignore_errors=True)

    def publish(self, staging_dir: Path, *, package_key: str | None = None) -> tuple[str, bool]:
        """Seal a staged package with its manifest and make it the next version.

        Args:
            staging_dir: A folder from `new_staging_dir`, fully written.
            package_key: Identity of the package's content; a version with the same key
                is returned instead of publishing a duplicate.

        Returns:
            The version name, and whether it is new.
        """
        files = write_manifest(staging_dir)
        failpoint("publish:staged")
        with self.lock():
            existing = self.find(package_key) if package_key else None
            if existing is not None:
                self.discard_staging(staging_dir)
                return existing, False
            version = self._next_version()
            self.storage.add_version(staging_dir, version, files)
        failpoint("publish:renamed")
        return version, True

    def _next_version(self) -> str:
        """The name after every version a publish started, finished or not; callers hold `lock()`."""
        numbers = [version_number(name) for name in self.storage.version_names()]
        return f"v{(max(numbers) + 1) if numbers else 1:04d}"

    def find(self, package_key: str) -> str | None:
        """The published version whose package key matches, if any."""
        for version in reversed(self.versions()):
            if self.metadata(version).get("package_key") == package_key:
                return version
        return None

    def versions(self) -> list[str]:
        """Published versions, oldest first."""
        return sorted(self.storage.published_versions(), key=version_number)

    def version_dir(self, version: str) -> Path:
        """The version's local folder: its own where storage keeps one (unchecked), else a verified copy."""
        own = self.storage.version_dir(check_version_name(version))
        return own if own is not None else self.verify(version)

    def _manifest_bytes(self, version: str) -> bytes:
        key = f"versions/{check_version_name(version)}/{MANIFEST}"
        try:
            data = self.storage.read_bytes(key)
        except DamagedFile as exc:
            raise unreadable_manifest(f"{self.name}@{version}", exc.where, exc.fault) from exc
        if data is None:
            raise RegistryError(f"model version {self.name}@{version} not found in {self.root}")
        return data

    def manifest_sha256(self, version: str) -> str:
        """The SHA-256 of the version's manifest: what identifies its content."""
        return hashlib.sha256(self._manifest_bytes(version)).hexdigest()

    def verify(self, version: str) -> Path:
        """Check every file of a package against its manifest; return a local folder holding them.

        Raises:
            RegistryError: if the version is missing, incomplete or altered, or its signature
                does not match the signing key in the environment.
        """
        raw = self._manifest_bytes(version)
        where = self.storage.where(f"versions/{version}/{MANIFEST}")
        manifest = parse_manifest(raw, where=where, label=f"{self.name}@{version}")
        check_signature(manifest, version)
        package_dir = self.storage.local_copy(version, manifest, raw)
        check_package_files(package_dir, manifest, version)
        return package_dir

    def metadata(self, version: str) -> dict[str, Any]:
        """The package's metadata (package.json) with its version name added."""
        key = f"versions/{check_version_name(version)}/package.json"
        data = self._read_json(key)
        if data is None:
            raise RegistryError(f"model version {self.name}@{version} not found in {self.root}")
        if not isinstance(data, dict):
            raise damaged(self.storage.where(key), "it holds no package metadata", model=self.name)
        return {"version": version, **data}

    # The champion and the audit history.
    def champion(self) -> str | None:
        """The champion version, or None before the first promotion."""
        pointer = self._pointer()
        return pointer["version"] if pointer else None

    def _pointer(self) -> dict[str, Any] | None:
        pointer = self._read_json(POINTER)
        if pointer is None:
            return None
        where = self.storage.where(POINTER)
        if not isinstance(pointer, dict) or "version" not in pointer:
            raise damaged(where, "it names no champion version", model=self.name)
        if not isinstance(pointer["version"], str) or not VERSION_PATTERN.match(pointer["version"]):
            raise damaged(where, f"its version {pointer['version']!r} is not a version name", model=self.name)
        return pointer

    def check_readable(self) -> None:
        """Refuse to go on (before anything is published) while the pointer, the history or the journal is damaged."""
        self.history()
        self._journal()

    def set_champion(self, version: str, *, action: str, reason: str, run: str | None = None) -> dict[str, Any]:
        """Make a version the champion and add the change to the history: both or neither.

        A switch a crash left behind is settled first (`recover`). Callers hold `lock()`
        around the decision that leads here.

        Returns:
            The history entry of the switch.
        """
        self.verify(version)
        self._settle_switch()
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
        self._switch(entry)
        return entry

    def _switch(self, entry: dict[str, Any]) -> None:
        """Journal the switch, write the pointer (the switch takes effect), append the entry, drop the journal.

        A kill before the pointer is written leaves the old champion and no entry (`recover`
        records the journaled switch as abandoned); a kill after it leaves the new champion with
        its entry, which the pointer carries and `history` lists until `recover` appends it.
        """
        self._write_json(JOURNAL, {"entry": entry})
        failpoint("switch:journaled")
        self._write_json(POINTER, {"version": entry["version"], "since": entry["time"], "entry": entry})
        failpoint("switch:pointer-written")
        failpoint("gate:switched")
        self.storage.append(HISTORY, entry)
        failpoint("switch:appended")
        self.storage.remove(JOURNAL)

    def history(self) -> list[dict[str, Any]]:
        """Every champion change that took effect, oldest first.

        The pointer is read before the log, so every switch made before that read is listed: its
        entry is in the log, or it is the pointer's own entry, listed last until `recover` appends
        it. A switch only journaled is never listed; an interrupted append is left out.
        """
        entry = _entry_of(self._pointer())
        log = self._read_log(HISTORY)
        if entry is not None and entry["id"] not in {item.get("id") for item in log}:
            return [*log, entry]
        return log

    def record_decision(self, version: str, decision: dict[str, Any]) -> None:
        """Append a gate decision about a version (a version can be gated by several runs); callers hold `lock()`."""
        self.storage.append(decisions_log(check_version_name(version)), {"time": utc_now(), **decision})

    def decisions(self, version: str) -> list[dict[str, Any]]:
        """Every gate decision about a version, oldest first."""
        return self._read_log(decisions_log(check_version_name(version)))

    # Mending what a crash or a person left.
    def recover(self) -> list[str]:
        """Finish what a crashed run left undone; callers hold `lock()`.

        Mends an interrupted append to the history, settles a champion switch a crash left
        half-done, and removes what a crashed publish left (never visible as a version).

        Returns:
            What was repaired, in words.
        """
        repaired = self.storage.mend_log(HISTORY)
        repaired += self._settle_switch()
        return repaired + self.storage.remove_leftovers()

    def _settle_switch(self) -> list[str]:
        """Append the pointer's entry a crash kept out of the history; finish or abandon a journaled switch.

        A journaled switch took effect when the pointer or the history holds its entry; then
        only the journal is left to remove. Otherwise its pointer was never written: the champion
        never changed, and the switch is recorded in the abandoned-switches log for the audit.
        """
        done = []
        log_ids = {item.get("id") for item in self._read_log(HISTORY)}
        entry = _entry_of(self._pointer())
        if entry is not None and entry["id"] not in log_ids:
            self.storage.append(HISTORY, entry)
            log_ids.add(entry["id"])
            done.append(f"appended the missing audit entry for {entry['version']}")
        intent = self._journal()
        if intent is None:
            return done
        if intent["id"] in log_ids:
            done.append(f"finished the switch to {intent['version']}: removed its journal")
        else:
            if intent["id"] not in {(_entry_of(item) or {}).get("id") for item in self._read_log(ABANDONED)}:
                self.storage.append(ABANDONED, {"time": utc_now(), "entry": intent})
            done.append(
                f"abandoned the switch to {intent['version']} journaled at {intent.get('time')}: the run stopped "
                f"before the champion changed (recorded in {ABANDONED})"
            )
        self.storage.remove(JOURNAL)
        return done

    def _journal(self) -> dict[str, Any] | None:
        """The history entry of the switch under way or interrupted, or None."""
        journal = self._read_json(JOURNAL)
        if journal is None:
            return None
        entry = _entry_of(journal)
        if entry is None or not isinstance(entry.get("version"), str):
            raise damaged(self.storage.where(JOURNAL), "it holds no champion switch", model=self.name)
        return entry

    def repair(self) -> list[str]:
        """Mend damaged registry files under the lock, keeping everything still readable.

        Moves malformed log records and a damaged switch journal aside, rebuilds a damaged
        champion pointer from the newest history entry whose version verifies (or moves it
        aside when there is none), then finishes what a crash left (`recover`).

        Returns:
            What was done, in words (empty when nothing was damaged).
        """
        done = []
        with self.lock():
            done += self.storage.set_damaged_records_aside()
            try:
                self._journal()
            except RegistryError:
                self.storage.move_aside(JOURNAL)
                done.append(f"moved the damaged {JOURNAL} aside (the pointer holds the last switch that took effect)")
            try:
                self._pointer()
            except RegistryError:
                done.append(self._rebuild_pointer())
            done += self.recover()
        return done

    def _rebuild_pointer(self) -> str:
        """Point at the newest version in the history that verifies; a change of champion is itself audited."""
        log = self._read_log(HISTORY)
        for entry in reversed(log):
            version = entry.get("version")
            try:
                self.verify(str(version))
            except RegistryError:
                continue
            switched = entry is not log[-1]
            if switched:
                entry = self._repair_entry(str(version), newest=log[-1])
            self._write_json(POINTER, {"version": version, "since": entry.get("time"), "entry": entry})
            if switched:  # after the pointer, which carries the entry until it is appended
                self.storage.append(HISTORY, entry)
            return f"rebuilt champion.json from the audit history: the champion is {version}"
        self.storage.move_aside(POINTER)
        return "champion.json was damaged and the history names no intact version: moved it aside; no champion now"

    def _repair_entry(self, version: str, *, newest: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": uuid.uuid4().hex,
            "time": utc_now(),
            "model": self.name,
            "action": "repair",
            "version": version,
            "previous": newest.get("version"),
            "reason": f"champion.json was damaged and {newest.get('version')}, the newest champion, does not verify",
            "run": None,
        }


def _entry_of(document: dict[str, Any] | None) -> dict[str, Any] | None:
    """The history entry a pointer, a journal or an abandoned switch carries, or None where it carries none."""
    entry = document.get("entry") if isinstance(document, dict) else None
    return entry if isinstance(entry, dict) and isinstance(entry.get("id"), str) else None
