"""Error classes a user can meet, each mapped to a documented process exit code."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from errno import EACCES, EDQUOT, ENOSPC, ENOTDIR, EPERM, EROFS
from typing import Any


class RegressError(Exception):
    """Base class for errors reported to a person as one line."""

    exit_code = 1


class ConfigError(RegressError):
    """Bad configuration or command-line usage."""

    exit_code = 2


class DataError(RegressError):
    """Input data that cannot be read or breaks the data contract."""

    exit_code = 3


class DataValidationError(DataError):
    """Input data that fails its data contract; carries the report and the contract's name."""

    def __init__(self, message: str, *, report: object | None = None, contract_name: str | None = None) -> None:
        super().__init__(message)
        self.report = report
        self.contract_name = contract_name


class TrainingError(RegressError):
    """Training could not produce a usable model (for example a diverging loss)."""

    exit_code = 4


class RegistryError(RegressError):
    """A model package or the registry is missing, incomplete or tampered with."""

    exit_code = 4


class ServiceError(RegressError):
    """A service the command needs (the Prefect API, an object store, a database) did not answer or refused it."""

    exit_code = 4


class StorageError(RegressError, OSError):
    """A file could not be written: the disk is full, the folder read-only, not writable by this user or a file.

    It is an OSError too, so code that already handles failed writes (the promotion gate)
    handles it the same way.
    """

    exit_code = 4

    def __init__(self, message: str, *, errno: int | None = None, path: str | None = None) -> None:
        super().__init__(message)
        self.errno = errno  # OSError's attributes, kept for callers that look
        self.filename = path

    def __str__(self) -> str:
        return str(self.args[0])

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled whole (a side process hands it back): OSError's own pickling drops errno and path.
        return _storage_error, (str(self), self.errno, self.filename)


def _storage_error(message: str, errno: int | None, path: str | None) -> StorageError:
    return StorageError(message, errno=errno, path=path)


# Failures of the place written to, not of the program: each names its remedy.
STORAGE_REMEDIES = {
    ENOSPC: "free some space there or write elsewhere",
    EDQUOT: "free some space there or write elsewhere",
    EROFS: "write elsewhere",
    EACCES: "write elsewhere or fix the folder's permissions",
    EPERM: "write elsewhere or fix the folder's permissions",
    ENOTDIR: "a folder on that path is a file",
}


def storage_error(exc: BaseException, path: str | os.PathLike[str] | None = None) -> StorageError | None:
    """The one-line StorageError for a failed write, or None when `exc` is not about storage.

    Args:
        exc: The exception a write raised.
        path: The file being written, as a person knows it (not its temporary name);
            defaults to the file the exception names.
    """
    if isinstance(exc, StorageError):
        return exc
    if not isinstance(exc, OSError) or exc.errno not in STORAGE_REMEDIES:
        return None
    # A failed copy or rename names its source first; the destination is where the write failed.
    where = path if path is not None else (exc.filename2 or exc.filename)
    reason = os.strerror(exc.errno).lower()
    target = f" {os.fspath(where)}" if where is not None else ""
    message = f"cannot write{target}: {reason}; {STORAGE_REMEDIES[exc.errno]}"
    return StorageError(message, errno=exc.errno, path=None if where is None else os.fspath(where))


@contextmanager
def storage_errors(path: str | os.PathLike[str]) -> Iterator[None]:
    """Turn a full disk or a read-only folder while writing `path` into a StorageError naming it."""
    try:
        yield
    except OSError as exc:
        error = storage_error(exc, path)
        if error is None or error is exc:
            raise
        raise error from exc
