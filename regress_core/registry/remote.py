"""One named model in a registry kept in object storage, where nothing can be renamed or appended.

Layout under the model's prefix (`<registry>/models/<name>/`), each entry an object:
    versions/v0001/<file>            the package's files, uploaded first
    versions/v0001/manifest.json     the SHA-256 of every file, uploaded last
    champion.json                    the champion pointer, replaced by one PUT
    history/<time>-<id>.json         one object per champion change
    decisions/v0001/<time>-<id>.json one object per gate decision about a version

The scheme rests on one guarantee of object stores: a PUT is all-or-nothing, and an object
is listed only once its upload completed.

- **A version is visible only when its manifest exists and verifies.** Publishing allocates
  the next number under the model's lock and uploads every file before the manifest. A run
  killed mid-upload leaves a prefix without a manifest, which no reader lists as a version;
  the next publish numbers past it and `recover` removes it under the lock. Readers download
  a version into a local folder and check every file against the manifest before loading it.
- **The champion changes in one write.** `champion.json` is one small object replaced by a
  single PUT, and it carries its own audit entry, so `recover` can add an entry a crash kept
  out of the history.
- **No history entry is lost.** An entry is a new object under a key no other writer uses
  (a timestamp and a random id), never a read-modify-write of a shared log, so two writers'
  entries both land even if they raced. Readers list the prefix and order entries by key.
- **The lock is handed in.** Several machines share the prefix, so a file lock cannot
  serialise their read-compare-switch: the caller hands in a lock every machine sees (the
  orchestrator's global concurrency limit, a server-side lease). Without one, switching the
  champion is refused rather than done unsafely.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
import uuid
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from regress_core.errors import RegistryError
from regress_core.failpoints import failpoint
from regress_core.objectstore import ObjectFolder
from regress_core.registry.journal import damaged
from regress_core.registry.signing import check_signature
from regress_core.registry.store import (
    HISTORY,
    MANIFEST,
    POINTER,
    VERSION_PATTERN,
    LockFactory,
    ModelRegistry,
    check_package_files,
    parse_manifest,
    write_manifest,
)

CACHE_ENV = "REGRESS_CACHE_DIR"


def local_cache_root() -> Path:
    """This machine's cache for what a remote workspace does not keep remotely."""
    chosen = os.environ.get(CACHE_ENV) or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "regress"
    )
    return Path(chosen).expanduser().resolve()


def entry_key(prefix: str) -> str:
    """A key for a new log entry that sorts by time and that no other writer picks."""
    return f"{prefix}/{time.time_ns():020d}-{uuid.uuid4().hex}.json"


class ObjectModelRegistry(ModelRegistry):
    """The versions of one named model under an object-storage prefix (see the module docstring).

    Args:
        folder: The model's prefix.
        name: The model's name.
        lock: Hands out a lock every machine sharing the prefix respects.
        cache_dir: Local folder for downloaded packages (default: `local_cache_root()`).
    """

    def __init__(
        self, folder: ObjectFolder, name: str, *, lock: LockFactory | None = None, cache_dir: Path | None = None
    ) -> None:
        super().__init__(".", name, lock=lock)
        self.folder = folder
        self.root = folder.url
        digest = hashlib.sha256(folder.url.encode()).hexdigest()[:16]
        self.cache_dir = (cache_dir or local_cache_root() / "packages") / f"{name}-{digest}"

    def __repr__(self) -> str:
        return f"ObjectModelRegistry({self.folder.url!r}, {self.name!r})"

    def lock(self) -> AbstractContextManager[object]:
        if self._lock is None:
            raise RegistryError(
                f"the registry at {self.root} is in object storage, where a file lock cannot keep two machines "
                "from switching the champion at once: run through a Prefect server (PREFECT_API_URL), whose "
                "global concurrency limit serialises promotions"
            )
        return self._lock()

    def _where(self, key: str) -> str:
        return self.folder.url_of(key)

    def _read_json(self, key: str) -> Any:
        data = self.folder.read_bytes(key)
        if data is None:
            return None
        where = self._where(key)
        if not data.strip():
            raise damaged(where, "it is empty", model=self.name)
        try:
            return json.loads(data)
        except ValueError as exc:
            raise damaged(where, f"not valid JSON: {exc}", model=self.name) from exc

    def _write_json(self, key: str, value: dict[str, Any]) -> None:
        self.folder.write_bytes(key, (json.dumps(value, indent=2, sort_keys=True, default=str) + "\n").encode())

    # Logs: one object per entry, so concurrent writers never overwrite each other.
    def _log_prefix(self, log: str) -> str:
        return "history" if log == HISTORY else log.removesuffix(".jsonl")

    def _append(self, log: str, record: dict[str, Any]) -> None:
        self._write_json(entry_key(self._log_prefix(log)), record)

    def _read_log(self, log: str) -> list[dict[str, Any]]:
        records = []
        for key in self.folder.keys(self._log_prefix(log)):
            record = self._read_json(key)
            if not isinstance(record, dict):
                raise damaged(self._where(key), "it is not a JSON record", model=self.name)
            records.append(record)
        return records

    # Versions.
    def _names(self) -> list[str]:
        return sorted(name for name in self.folder.names("versions") if VERSION_PATTERN.match(name))

    def versions(self) -> list[str]:
        """Published versions (those with a manifest), oldest first."""
        manifests = {key.split("/")[1] for key in self.folder.keys("versions") if key.endswith("/" + MANIFEST)}
        return sorted((name for name in manifests if VERSION_PATTERN.match(name)), key=lambda name: int(name[1:]))

    def version_dir(self, version: str) -> Path:
        """A verified local copy of the version (object storage has no folders to point at)."""
        return self.verify(version)

    def package_dir(self, version: str) -> Path:
        return self.verify(version)

    def _manifest(self, version: str) -> tuple[dict[str, Any], bytes]:
        key = f"versions/{self.check_version_name(version)}/{MANIFEST}"
        data = self.folder.read_bytes(key)
        if data is None:
            raise RegistryError(f"model version {self.name}@{version} not found in {self.root}")
        text = data.decode("utf-8", errors="replace")
        return parse_manifest(text, where=self._where(key), label=f"{self.name}@{version}"), data

    def manifest_sha256(self, version: str) -> str:
        return hashlib.sha256(self._manifest(version)[1]).hexdigest()

    def verify(self, version: str) -> Path:
        """Download a version into the local cache, check every file against its manifest; return the folder.

        A copy verified before is reused while the manifest is unchanged; it is checked again
        on every call, so a local copy altered since is refused like a remote one.
        """
        manifest, raw = self._manifest(version)
        check_signature(manifest, version)
        local = self.cache_dir / f"{version}-{hashlib.sha256(raw).hexdigest()[:16]}"
        if not local.is_dir():
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            partial = Path(tempfile.mkdtemp(prefix=f".{version}.", dir=self.cache_dir))
            try:
                prefix = f"versions/{version}/"
                for key in self.folder.keys(prefix.rstrip("/")):
                    target = partial / key.removeprefix(prefix)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    self.folder.get_file(key, target)
                check_package_files(partial, manifest, version)
                try:
                    os.rename(partial, local)
                except OSError:  # another process of this machine got there first
                    shutil.rmtree(partial, ignore_errors=True)
            except BaseException:
                shutil.rmtree(partial, ignore_errors=True)
                raise
        check_package_files(local, manifest, version)
        return local

    def publish(self, staging_dir: Path, *, package_key: str | None = None) -> tuple[str, bool]:
        """Upload a staged package as the next version, its manifest last (see the module docstring)."""
        files = write_manifest(staging_dir)
        failpoint("publish:staged")
        with self.lock():
            existing = self.find(package_key) if package_key else None
            if existing is not None:
                self.discard_staging(staging_dir)
                return existing, False
            # Numbered past every prefix, also one a killed upload left without a manifest.
            version = self._next_version()
            for name in sorted(files):
                self.folder.put_file(staging_dir / name, f"versions/{version}/{name}")
                failpoint("publish:uploading")
            self.folder.put_file(staging_dir / MANIFEST, f"versions/{version}/{MANIFEST}")
        self.discard_staging(staging_dir)
        failpoint("publish:renamed")
        return version, True

    def recover(self) -> list[str]:
        """Finish what a crashed run left undone; callers hold `lock()`.

        Appends a champion switch missing from the history, and removes the prefix of a
        version whose upload never finished (no run holds the lock, so none is uploading).
        """
        repaired = self._recover_history()
        published = set(self.versions())
        for name in self._names():
            if name not in published:
                self.folder.remove(self.folder.keys(f"versions/{name}"))
                repaired.append(f"removed the unfinished upload of {name}")
        return repaired

    def new_staging_dir(self) -> Path:
        """A private local folder to write a package into before it is uploaded."""
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix="staging-", dir=self.cache_dir))

    def _set_damaged_records_aside(self) -> list[str]:
        done = []
        for prefix in ("history", "decisions"):
            for key in self.folder.keys(prefix):
                try:
                    record = self._read_json(key)
                except RegistryError:
                    record = None
                if isinstance(record, dict):
                    continue
                data = self.folder.read_bytes(key) or b""
                self.folder.write_bytes(f"damaged/{key}", data)
                self.folder.remove([key])
                done.append(f"moved the damaged entry {key} to damaged/{key}")
        return done

    def _move_pointer_aside(self) -> None:
        data = self.folder.read_bytes(POINTER) or b""
        self.folder.write_bytes("damaged/champion.json", data)
        self.folder.remove([POINTER])
