"""One model's registry files in object storage, where nothing can be renamed or appended.

Layout under the model's prefix (`<registry>/models/<name>/`), each entry an object:
    versions/v0001/<file>            the package's files, uploaded first
    versions/v0001/manifest.json     the SHA-256 of every file, uploaded last
    switch.json                      the journal of a champion switch under way (see `registered_model`)
    champion.json                    the champion pointer, replaced by one PUT
    history/<time>-<id>.json         one object per champion change
    abandoned-switches/<time>-<id>.json  switches a crash stopped before they took effect
    decisions/v0001/<time>-<id>.json one object per gate decision about a version
    cards/v0001.md                   each version's model card (see `card`), outside the sealed package
    damaged/<key>                    objects `repair` moved out of the readers' way

The scheme rests on one guarantee of object stores: a PUT is all-or-nothing, and an object
is listed only once its upload completed.

- **A version is visible only when its manifest exists and verifies.** Publishing allocates
  the next number under the model's lock and uploads every file before the manifest. A run
  killed mid-upload leaves a prefix without a manifest, which no reader lists as a version;
  the next publish numbers past it and `remove_leftovers` removes it under the lock. Readers
  download a version into a local folder and check every file against the manifest before
  loading it.
- **The champion changes in one write.** `champion.json` is one small object replaced by a
  single PUT; it carries the switch's history entry, so the switch and its entry are seen
  together (see `registered_model`).
- **No history entry is lost.** An entry is a new object under a key no other writer uses
  (a timestamp and a random id), never a read-modify-write of a shared log, so two writers'
  entries both land even if they raced. Readers list the prefix and order entries by key.
- **The lock is handed in.** Several machines share the prefix, so a file lock cannot
  serialise their read-compare-switch: the caller hands in a lock every machine sees (the
  orchestrator's global concurrency limit, a server-side lease). Without one, switching the
  champion is refused rather than done unsafely.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import posixpath
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
from regress_core.registry.journal import DamagedFile, parse_json
from regress_core.registry.manifest import MANIFEST, VERSION_PATTERN, check_package_files

CACHE_ENV = "REGRESS_CACHE_DIR"
LOGS = ("history", "decisions", "abandoned-switches")
DAMAGED = "damaged"


def local_cache_root() -> Path:
    """This machine's cache for what a remote workspace does not keep remotely."""
    chosen = os.environ.get(CACHE_ENV) or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "regress"
    )
    return Path(chosen).expanduser().resolve()


def entry_key(prefix: str) -> str:
    """A key for a new log entry that sorts by time and that no other writer picks."""
    return f"{prefix}/{time.time_ns():020d}-{uuid.uuid4().hex}.json"


class ObjectStorage:
    """A model's files under an object-storage prefix (see the module docstring).

    Args:
        folder: The model's prefix (`<registry>/models/<name>`).
        cache_dir: Local folder for downloaded and staged packages (default: under `local_cache_root()`).
    """

    def __init__(self, folder: ObjectFolder, *, cache_dir: Path | None = None) -> None:
        self.folder = folder
        digest = hashlib.sha256(folder.url.encode()).hexdigest()[:16]
        name = posixpath.basename(folder.url)
        self.cache_dir = (cache_dir or local_cache_root() / "packages") / f"{name}-{digest}"

    def __repr__(self) -> str:
        return f"ObjectStorage({self.folder.url!r})"

    @property
    def root(self) -> str:
        return self.folder.url

    def where(self, key: str) -> str:
        return self.folder.url_of(key)

    def own_lock(self) -> AbstractContextManager[object]:
        """None to give: refused (see the module docstring)."""
        raise RegistryError(
            f"the registry at {self.root} is in object storage, where a file lock cannot keep two machines "
            "from switching the champion at once: run through a Prefect server (PREFECT_API_URL), whose "
            "global concurrency limit serialises promotions"
        )

    def read_bytes(self, key: str) -> bytes | None:
        return self.folder.read_bytes(key)

    def write_bytes(self, key: str, data: bytes) -> None:
        self.folder.write_bytes(key, data)

    def move_aside(self, key: str) -> None:
        """Copy the object under `damaged/` and remove it."""
        self.folder.write_bytes(f"{DAMAGED}/{key}", self.folder.read_bytes(key) or b"")
        self.folder.remove([key])

    def remove(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):  # already gone, as asked
            self.folder.remove([key])

    # Logs: one object per entry, so concurrent writers never overwrite each other.
    def append(self, log: str, record: dict[str, Any]) -> None:
        self.folder.write_bytes(
            entry_key(log), (json.dumps(record, indent=2, sort_keys=True, default=str) + "\n").encode()
        )

    def _read_record(self, key: str) -> dict[str, Any]:
        data = self.folder.read_bytes(key)
        record = parse_json(data, where=self.where(key)) if data is not None else None
        if not isinstance(record, dict):
            raise DamagedFile(self.where(key), "it is not a JSON record")
        return record

    def read_log(self, log: str) -> list[dict[str, Any]]:
        return [self._read_record(key) for key in self.folder.keys(log)]

    def mend_log(self, log: str) -> list[str]:
        """Nothing to mend: an entry's object is whole or absent."""
        return []

    def set_damaged_records_aside(self) -> list[str]:
        """Move each log entry that is not a JSON record under `damaged/`."""
        done = []
        for prefix in LOGS:
            for key in self.folder.keys(prefix):
                try:
                    self._read_record(key)
                except DamagedFile:
                    self.move_aside(key)
                    done.append(f"moved the damaged entry {key} to {DAMAGED}/{key}")
        return done

    # Versions: files uploaded one by one, the manifest last.
    def version_names(self) -> list[str]:
        return [name for name in self.folder.names("versions") if VERSION_PATTERN.match(name)]

    def published_versions(self) -> list[str]:
        manifests = {key.split("/")[1] for key in self.folder.keys("versions") if key.endswith("/" + MANIFEST)}
        return [name for name in manifests if VERSION_PATTERN.match(name)]

    def new_staging_dir(self) -> Path:
        """A private local folder in the cache."""
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix="staging-", dir=self.cache_dir))

    def add_version(self, staging_dir: Path, version: str, files: dict[str, str]) -> None:
        """Upload every file of the package, then its manifest, then remove the local staging folder."""
        for name in sorted(files):
            self.folder.put_file(staging_dir / name, f"versions/{version}/{name}")
            failpoint("publish:uploading")
        self.folder.put_file(staging_dir / MANIFEST, f"versions/{version}/{MANIFEST}")
        shutil.rmtree(staging_dir, ignore_errors=True)

    def version_dir(self, version: str) -> None:
        """None: object storage has no folders to point at."""
        return None

    def local_copy(self, version: str, manifest: dict[str, Any], raw_manifest: bytes) -> Path:
        """A copy in the local cache, downloaded once per manifest and checked before it is kept."""
        local = self.cache_dir / f"{version}-{hashlib.sha256(raw_manifest).hexdigest()[:16]}"
        if local.is_dir():
            return local
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
        return local

    def remove_leftovers(self) -> list[str]:
        """Remove the prefix of a version whose upload never finished (no run holds the lock, so none is uploading)."""
        published = set(self.published_versions())
        removed = []
        for name in sorted(self.version_names()):
            if name not in published:
                self.folder.remove(self.folder.keys(f"versions/{name}"))
                removed.append(f"removed the unfinished upload of {name}")
        return removed
