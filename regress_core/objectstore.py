"""A folder in object storage (S3, GCS, Azure, MinIO, SeaweedFS) reached through fsspec.

Object stores have no rename and no append, but a single PUT is all-or-nothing: a reader
sees the whole object or none of it, and listing shows an object only once its upload has
completed (for a multipart upload, once it is completed). Everything regress keeps in object
storage is built on that one guarantee; see `registry.object_storage` for the registry's scheme.

Credentials and endpoints come from the filesystem's usual conventions (for S3 the `AWS_*`
variables, `AWS_ENDPOINT_URL` included), or from options a caller hands to `use_options`
(the orchestration layer reads them from a Prefect block); nothing here reads them itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import fsspec

from regress_core.errors import StorageError


def is_remote(location: str | Path) -> bool:
    """Whether a location is a URL of a remote filesystem (file:// and plain paths are local)."""
    text = str(location)
    return "://" in text and not text.startswith("file://")


def filesystem_for(url: str) -> tuple[fsspec.AbstractFileSystem, str]:
    """The fsspec filesystem of a URL and the path within it, with a missing package named."""
    from regress_core.data.tables import missing_filesystem

    missing = missing_filesystem(url)
    if missing:
        raise StorageError(missing.replace("reading", "using", 1))
    fs, path = fsspec.core.url_to_fs(url)
    return fs, path.rstrip("/")


def use_options(protocol: str, options: dict[str, Any]) -> None:
    """Make `options` the defaults of every `protocol` filesystem this process and its children create.

    They go into fsspec's configuration, which every filesystem constructor reads, and into
    `FSSPEC_<PROTOCOL>`, from which a child process (a Dask worker) reads it when it starts.
    Filesystems made before the call are dropped from fsspec's instance cache.
    """
    fsspec.config.conf[protocol] = dict(options)
    os.environ[f"FSSPEC_{protocol.upper()}"] = json.dumps(options)
    with contextlib.suppress(ImportError, ValueError):  # its package is missing: named when the workspace is used
        fsspec.get_filesystem_class(protocol).clear_instance_cache()


@contextmanager
def remote_errors(url: str, doing: str) -> Iterator[None]:
    """Turn a failed request into one line naming the location and what was being done."""
    try:
        yield
    except FileNotFoundError:
        raise
    except StorageError:
        raise
    except PermissionError as exc:  # s3fs's, gcsfs's and adlfs's 403
        detail = str(exc).splitlines()[0] if str(exc) else "access denied"
        raise StorageError(
            f"the object store refused to {doing} {url} with these credentials ({detail}): use a key allowed to "
            f"{doing} there (AWS_ACCESS_KEY_ID or the block REGRESS_STORAGE_BLOCK names)"
        ) from exc
    except (OSError, ValueError, RuntimeError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise StorageError(f"cannot {doing} {url}: {detail}") from exc
    except Exception as exc:  # botocore and friends raise their own classes for credentials and endpoints
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise StorageError(f"cannot {doing} {url}: {type(exc).__name__}: {detail}{unreachable_hint(exc)}") from exc


def unreachable_hint(exc: Exception) -> str:
    """What to check when the store did not answer at all (botocore's connection errors); else nothing."""
    if "EndpointConnection" in type(exc).__name__ or "ConnectTimeout" in type(exc).__name__:
        endpoint = os.environ.get("AWS_ENDPOINT_URL")
        where = f"AWS_ENDPOINT_URL={endpoint}" if endpoint else "the store's endpoint"
        return f"; is the object store running and reachable at {where}?"
    return ""


class ObjectFolder:
    """Keys under one URL prefix, read and written whole.

    Args:
        url: Such as `s3://bucket/regress/registry`.
    """

    def __init__(self, url: str, *, fs: fsspec.AbstractFileSystem | None = None, path: str | None = None) -> None:
        self.url = url.rstrip("/")
        if fs is None or path is None:
            fs, path = filesystem_for(self.url)
        self.fs = fs
        self.path = path

    def __repr__(self) -> str:
        return f"ObjectFolder({self.url!r})"

    def __str__(self) -> str:
        return self.url

    def child(self, *parts: str) -> ObjectFolder:
        key = posixpath.join(*parts)
        return ObjectFolder(f"{self.url}/{key}", fs=self.fs, path=f"{self.path}/{key}")

    def url_of(self, key: str) -> str:
        return f"{self.url}/{key}"

    def _full(self, key: str) -> str:
        return f"{self.path}/{key}"

    def read_bytes(self, key: str) -> bytes | None:
        """An object's content, or None when there is no such object."""
        with remote_errors(self.url_of(key), "read"):
            try:
                return bytes(self.fs.cat_file(self._full(key)))
            except FileNotFoundError:
                return None

    def write_bytes(self, key: str, data: bytes) -> None:
        """Write an object in one request: readers see the old object or the new one."""
        with remote_errors(self.url_of(key), "write"):
            self.fs.pipe_file(self._full(key), data)
        self.fs.invalidate_cache(self.path)

    def put_file(self, local: str | Path, key: str) -> None:
        """Upload a local file as one object (a multipart upload appears only once completed)."""
        with remote_errors(self.url_of(key), "write"):
            self.fs.put_file(str(local), self._full(key))
        self.fs.invalidate_cache(self.path)

    def put_tree(self, local: Path, prefix: str) -> None:
        """Upload every file under a local folder below `prefix`, one object each."""
        for path in sorted(p for p in local.rglob("*") if p.is_file()):
            self.put_file(path, f"{prefix}/{path.relative_to(local).as_posix()}")

    def get_file(self, key: str, local: str | Path) -> None:
        with remote_errors(self.url_of(key), "read"):
            self.fs.get_file(self._full(key), str(local))

    def exists(self, key: str) -> bool:
        with remote_errors(self.url_of(key), "look up"):
            return bool(self.fs.exists(self._full(key)))

    def keys(self, prefix: str = "") -> list[str]:
        """Every key below `prefix` (recursively), relative to this folder, sorted."""
        root = self._full(prefix).rstrip("/") if prefix else self.path
        with remote_errors(self.url_of(prefix), "list"):
            self.fs.invalidate_cache(root)
            try:
                found = self.fs.find(root)
            except FileNotFoundError:
                return []
        start = len(self.path) + 1
        return sorted(key[start:] for key in found if key.startswith(self.path + "/"))

    def names(self, prefix: str = "") -> list[str]:
        """The names directly below `prefix` (objects and common prefixes alike), sorted."""
        root = self._full(prefix).rstrip("/") if prefix else self.path
        with remote_errors(self.url_of(prefix), "list"):
            self.fs.invalidate_cache(root)
            try:
                entries: list[Any] = self.fs.ls(root, detail=False)
            except FileNotFoundError:
                return []
        return sorted({posixpath.basename(str(entry).rstrip("/")) for entry in entries} - {""})

    def remove(self, keys: list[str]) -> None:
        if not keys:
            return
        with remote_errors(self.url, "remove objects under"):
            self.fs.rm([self._full(key) for key in keys])
        self.fs.invalidate_cache(self.path)
