"""Where Prefect keeps the stage records of a workspace, and in which form.

Records are written as JSON by `RecordSerializer` (see `regress_core.pipeline.record_json`),
never pickled. For a local workspace they live in its `cache/results` folder. For a workspace
in object storage they live at `<url>/cache/results`, where every machine finds them; there
`RecordStorage` hands Prefect only records in that JSON form: Prefect reads the serializer
to use from the stored record itself, and a pickle or JSON-decoder entry written by anyone
with access to the bucket would otherwise run code on the machine that reads it. A refused
record reads as absent, so the stage runs again and writes a sound one.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any, Literal

from prefect._internal.compatibility.async_dispatch import async_dispatch
from prefect._internal.result_records import ResultRecord
from prefect.filesystems import RemoteFileSystem
from prefect.serializers import Serializer
from prefect.settings import PREFECT_API_URL
from prefect.utilities.asyncutils import run_sync_in_worker_thread
from pydantic import Field

from regress_core.objectstore import remote_errors
from regress_core.pipeline.record_json import dump_record, load_record
from regress_core.pipeline.workspace import Workspace

SERIALIZER = "regress-record"


class RecordSerializer(Serializer):
    """Stage records as JSON; nothing else is written or read."""

    type: Literal["regress-record"] = Field(default="regress-record", frozen=True)

    def dumps(self, obj: Any) -> bytes:
        return dump_record(obj)

    def loads(self, blob: bytes) -> Any:
        return load_record(blob)


def checked_record(content: bytes, where: str) -> bytes:
    """Stored result bytes, refused unless Prefect would read them with `RecordSerializer` alone.

    The stored form must hold just `metadata` and `result` (Prefect also takes a serializer
    from top-level keys of an older form), and Prefect's own parse of it must pick this serializer.

    Raises:
        ValueError: naming the object and the serializer it asks for.
    """
    try:
        stored = json.loads(content)
        serializer = stored["metadata"]["serializer"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{where} is not a stored stage record") from exc
    if not isinstance(stored, dict) or set(stored) != {"metadata", "result"}:
        raise ValueError(f"{where} holds more than a stage record's metadata and result; refused")
    if serializer != {"type": SERIALIZER}:
        raise ValueError(f"{where} asks for serializer {serializer!r}; only {SERIALIZER!r} records are read")
    if type(ResultRecord.model_validate_json(content).metadata.serializer) is not RecordSerializer:
        raise ValueError(f"{where} is not read with {SERIALIZER!r}; refused")
    return content


class RecordStorage(RemoteFileSystem):
    """Prefect result storage in a bucket that reads back stage records in JSON form only."""

    _block_type_name = "Regress record storage"

    def _read_checked(self, path: str) -> bytes:
        resolved = self._resolve_path(path)
        with self.filesystem.open(resolved, "rb") as handle:
            content = handle.read()
        return checked_record(content, resolved)

    async def aread_path(self, path: str) -> bytes:
        return await run_sync_in_worker_thread(self._read_checked, path)

    @async_dispatch(aread_path)
    def read_path(self, path: str) -> bytes:  # type: ignore[override]  # async_dispatch serves both the sync and async callers
        return self._read_checked(path)

    def _write(self, path: str, content: bytes) -> str:
        """Write one record; a refused or failed write is a one-line StorageError naming it."""
        resolved = self._resolve_path(path)
        with remote_errors(resolved, "write"):
            self.filesystem.makedirs(resolved[: resolved.rindex("/")], exist_ok=True)
            with self.filesystem.open(resolved, "wb") as handle:
                handle.write(content)
        return resolved

    async def awrite_path(self, path: str, content: bytes) -> str:
        return await run_sync_in_worker_thread(self._write, path, content)

    @async_dispatch(awrite_path)
    def write_path(self, path: str, content: bytes) -> str:  # type: ignore[override]  # as read_path
        return self._write(path, content)


def result_storage(ws: Workspace) -> Path | RecordStorage:
    """Where the records of a workspace's stages are kept: its folder, or its bucket.

    Prefect takes only result storage saved on its server, so a bucket's is saved there
    once, as a block named after the workspace URL (`regress-results-<hash>`); one whose
    location someone changed is put back.
    """
    if ws.url is None:
        return ws.results_dir
    return _saved_storage(f"{ws.url}/cache/results", PREFECT_API_URL.value())


@cache
def _saved_storage(basepath: str, api_url: str | None) -> RecordStorage:
    name = f"regress-results-{hashlib.sha256(basepath.encode()).hexdigest()[:16]}"
    try:
        saved = RecordStorage.load(name, _sync=True)  # type: ignore[call-arg]
    except ValueError:  # no such block yet
        saved = None
    if isinstance(saved, RecordStorage) and saved.basepath == basepath and not saved.settings:
        return saved
    storage = RecordStorage(basepath=basepath)
    storage.save(name, overwrite=True, _sync=True)  # type: ignore[call-arg]
    return storage
