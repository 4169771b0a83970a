"""A CSV or Parquet file of the user's, by local path or fsspec URL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
from fsspec.core import url_to_fs

from regress_core.data.contract import DataContract
from regress_core.data.sources.base import frame_batches
from regress_core.data.tables import is_url, read_table
from regress_core.fileio import sha256_file


@dataclass(frozen=True)
class FileSource:
    """A table in one file; its contract is given by the person or inferred from it."""

    location: str

    def fingerprint(self) -> str:
        """The file's SHA-256; for a URL, the filesystem's key of the object's current state."""
        if is_url(self.location):
            fs, path = url_to_fs(self.location)
            return f"{self.location}@{fs.ukey(path)}"
        path = Path(self.location.removeprefix("file://"))
        return sha256_file(path) if path.is_file() else f"missing:{path}"

    def contract(self) -> DataContract | None:
        return None

    def batches(self) -> Iterator[pa.RecordBatch]:
        return frame_batches(read_table(self.location))
