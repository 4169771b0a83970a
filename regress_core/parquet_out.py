"""Writing Parquet outputs that readers can trust: atomically renamed, with metadata."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from regress_core.fileio import fsync_dir


class AtomicParquet:
    """A Parquet writer into a temporary sibling, renamed onto the target on `commit`."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path = path
        self.schema = schema
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        self.tmp_path = Path(tmp)
        self.writer = pq.ParquetWriter(self.tmp_path, schema)

    def commit(self, metadata: dict[str, str]) -> Path:
        self.writer.add_key_value_metadata(metadata)
        self.writer.close()
        with open(self.tmp_path, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(self.tmp_path, self.path)
        fsync_dir(self.path.parent)
        return self.path

    def abort(self) -> None:
        try:
            self.writer.close()
        finally:
            self.tmp_path.unlink(missing_ok=True)


def write_rejected(tables: list[pa.Table], path: Path) -> Path:
    """Write rejected rows (as text) with their row numbers and reasons."""
    table = pa.concat_tables(tables, promote_options="permissive")
    writer = AtomicParquet(path, table.schema)
    try:
        writer.writer.write_table(table)
    except BaseException:
        writer.abort()
        raise
    return writer.commit({})


def rejected_path_for(output_path: Path) -> Path:
    return output_path.with_name(output_path.stem + ".rejected.parquet")
