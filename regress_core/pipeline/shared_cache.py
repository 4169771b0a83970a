"""Stage outputs of a workspace in object storage, shared by every machine that uses it.

Each machine writes a stage's files in its own folder for the workspace (fast local reads
for training). Once a stage is done, `share` uploads the files its record names to the
same relative keys under the workspace URL, before the orchestrator stores the record
itself there; so a record in the bucket names files that are already in the bucket.

Another machine that finds the record fetches the files it lacks with `fetch`. Each file
is downloaded beside its final name and checked against the content hash in the record
before it takes that name, so a changed, half-uploaded or missing object never reaches a
stage: the file is reported as unavailable and the stage runs again.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TypeVar

from regress_core.fileio import sha256_file
from regress_core.objectstore import ObjectFolder
from regress_core.pipeline.records import changed_files
from regress_core.pipeline.workspace import Workspace

R = TypeVar("R")


def _hashed(record: object) -> dict[str, str]:
    hashed = getattr(record, "hashed_files", None)
    return hashed() if hashed is not None else {}


def share(record: R, ws: Workspace) -> R:
    """Upload the files a stage record names to the workspace URL (nothing for a local workspace)."""
    if ws.url is None:
        return record
    folder = ObjectFolder(ws.url)
    for path in sorted(_hashed(record)):
        folder.put_file(path, ws.relative(path))
    return record


def fetch(record: object, ws: Workspace) -> list[str]:
    """Download the record's files this machine lacks; return those still missing or changed.

    A local workspace has nothing to fetch from, and its changed files are returned as they are.

    Raises:
        StorageError: the object store could not be reached (a missing object is not an error).
    """
    missing = changed_files(record)
    if ws.url is None or not missing:
        return missing
    folder = ObjectFolder(ws.url)
    expected = _hashed(record)
    for path in missing:
        target = Path(path)
        partial = target.with_name(f".{target.name}.{os.getpid()}.part")
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            folder.get_file(ws.relative(target), partial)
            if sha256_file(partial) == expected[path]:
                os.replace(partial, target)
        except FileNotFoundError:
            pass
        finally:
            partial.unlink(missing_ok=True)
    return changed_files(record)
