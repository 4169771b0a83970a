"""Where one model's registry files live: the protocol a `RegisteredModel` works over.

Keys are relative, `/`-separated names under the model's root (`champion.json`,
`versions/v0001/package.json`). Logs are named without a suffix (`history`,
`decisions/v0001`): each storage keeps a log the way its medium allows.

Two implementations: `LocalStorage` (a folder: atomic renames, appends and a file lock) and
`ObjectStorage` (an fsspec prefix: one object per write, manifest last, no lock of its own).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

HISTORY = "history"
ABANDONED = "abandoned-switches"
LOCK_TIMEOUT_S = 600


def decisions_log(version: str) -> str:
    """The log of the gate decisions about one version."""
    return f"decisions/{version}"


class Storage(Protocol):
    """One model's files: whole documents, append-only logs and versioned packages.

    Methods that change the model's files are called with the model's lock held (a staging
    folder is private to its caller). Reads raise `journal.DamagedFile` for a document that
    is there but cannot be read.
    """

    @property
    def root(self) -> Path | str:
        """The model's folder or URL, as a person finds it."""
        ...

    def where(self, key: str) -> str:
        """A key as a person finds it (a path or a URL)."""
        ...

    def own_lock(self) -> AbstractContextManager[object]:
        """The lock this storage can give by itself when none is handed in (raises where there is none)."""
        ...

    def read_bytes(self, key: str) -> bytes | None:
        """A document's content, or None when there is no such document."""
        ...

    def write_bytes(self, key: str, data: bytes) -> None:
        """Replace a document in one step: readers see the old content or the new, never a mix."""
        ...

    def move_aside(self, key: str) -> None:
        """Keep a damaged document where a person can find it, out of the readers' way."""
        ...

    def remove(self, key: str) -> None:
        """Remove a document in one step; one that is not there is left so."""
        ...

    def append(self, log: str, record: dict[str, Any]) -> None:
        """Add a record to a log; no record of another writer is lost."""
        ...

    def read_log(self, log: str) -> list[dict[str, Any]]:
        """A log's records, oldest first."""
        ...

    def mend_log(self, log: str) -> list[str]:
        """Remove what an interrupted append left at the end of a log; returns what was done, in words."""
        ...

    def set_damaged_records_aside(self) -> list[str]:
        """Move records of any log that are not JSON objects aside; returns what was done, in words."""
        ...

    def version_names(self) -> list[str]:
        """Every version a publish started, finished or not, by name."""
        ...

    def published_versions(self) -> list[str]:
        """The versions whose manifest was written, by name."""
        ...

    def new_staging_dir(self) -> Path:
        """A private local folder to write a package into before it is published."""
        ...

    def add_version(self, staging_dir: Path, version: str, files: dict[str, str]) -> None:
        """Make a staged package, its manifest written, the given version; the staging folder is used up.

        The version is visible to readers only once its manifest is in place.
        """
        ...

    def version_dir(self, version: str) -> Path | None:
        """The version's own local folder, unchecked; None where versions are not local folders."""
        ...

    def local_copy(self, version: str, manifest: dict[str, Any], raw_manifest: bytes) -> Path:
        """A local folder with the version's files, for the caller to check against the manifest."""
        ...

    def remove_leftovers(self) -> list[str]:
        """Remove what a crashed publish left (never visible as a version); returns what was done, in words."""
        ...
