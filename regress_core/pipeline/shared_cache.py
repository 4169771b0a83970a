"""Stage outputs of a workspace in object storage, shared by every machine that uses it.

Each machine writes a stage's files in its own folder for the workspace (fast local reads
for training). Once a stage is done, `share` uploads each file its record names to
`<url>/cache/objects/<sha256>`, named by its content, before the orchestrator stores the
record itself under the URL; so a record in the bucket names objects already there, and an
object never changes once written (two machines that make the same key at once upload
their own bytes under their own names, and neither record is left pointing at the other's).

Another machine that finds the record fetches the files it lacks with `fetch`. Each object
is downloaded beside its local name and checked against the content hash in the record
before it takes that name, so a changed, missing or unreadable object never reaches a
stage: the file is reported as unavailable and the stage runs again. An object whose content
does not match its name is removed, so that run uploads the file anew.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TypeVar

from regress_core.errors import StorageError
from regress_core.fileio import sha256_file
from regress_core.objectstore import ObjectFolder
from regress_core.pipeline.records import changed_files, hashed_files
from regress_core.pipeline.workspace import Workspace

R = TypeVar("R")


def object_key(sha256: str) -> str:
    """Where a stage file with this content lives under the workspace URL."""
    return f"cache/objects/{sha256[:2]}/{sha256}"


def share(record: R, ws: Workspace) -> R:
    """Upload the files a stage record names that the bucket lacks (nothing for a local workspace)."""
    if ws.url is None:
        return record
    folder = ObjectFolder(ws.url)
    for path, sha256 in sorted(hashed_files(record).items()):
        if not folder.exists(object_key(sha256)):
            folder.put_file(path, object_key(sha256))
    return record


def fetch(record: object, ws: Workspace) -> list[str]:
    """Download the record's files this machine lacks; return those still missing or changed.

    A local workspace has nothing to fetch from, and its changed files are returned as they are.
    """
    missing = changed_files(record)
    if ws.url is None or not missing:
        return missing
    folder = ObjectFolder(ws.url)
    expected = hashed_files(record)
    unavailable = []
    for path in missing:
        target = Path(path)
        if not target.resolve().is_relative_to(ws.root.resolve()):
            unavailable.append(path)  # a record naming a file outside the workspace is never fetched into place
            continue
        partial = target.with_name(f".{target.name}.{os.getpid()}.part")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            key = object_key(expected[path])
            folder.get_file(key, partial)
            if sha256_file(partial) == expected[path]:
                os.replace(partial, target)
                continue
            folder.remove([key])  # not the content its name says: the stage's next run uploads it anew
        except (FileNotFoundError, StorageError):  # absent or unreadable: the stage runs again
            pass
        finally:
            partial.unlink(missing_ok=True)
        unavailable.append(path)
    return unavailable
