"""Writing Parquet outputs that readers can trust: complete or absent, never half-written.

An output is written to a hidden temporary sibling named after the writing process
(`.NAME.<pid>.<random>.tmp`), fsynced, and renamed onto its path. A temporary left by a
process that no longer runs (a killed job) is removed by the next writer of the same path.
A full disk or a read-only folder ends the write with a StorageError naming the output,
after the temporary is removed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from types import TracebackType

import pyarrow as pa
import pyarrow.parquet as pq

from regress_core.errors import storage_error, storage_errors
from regress_core.fileio import create_temporary, discard_file, fsync_dir, process_alive


def clear_stale_temporaries(path: Path) -> list[Path]:
    """Remove temporaries of `path` whose writing process has ended; return what was removed."""
    pattern = re.compile(rf"^\.{re.escape(path.name)}\.(\d+)\.[^.]+\.tmp$")
    removed = []
    for candidate in path.parent.glob(f".{path.name}.*.tmp") if path.parent.is_dir() else []:
        match = pattern.match(candidate.name)
        if match and not process_alive(int(match.group(1))):
            candidate.unlink(missing_ok=True)
            removed.append(candidate)
    return removed


class AtomicParquet:
    """A Parquet file that appears at `path` only when the `with` block completes.

    Example:
        with AtomicParquet(path, schema) as out:
            out.writer.write_table(table)
            out.metadata = {"regress.rows": "10"}

    An exception inside the block removes the temporary file and leaves `path` as it was.
    Files in `replaces` (for example last run's rejected rows) are removed just before the
    rename, so that nothing stale sits beside the new output. A part file written on the way
    to an output names that output (`shown_as`) when the disk is full or read-only.
    """

    def __init__(
        self, path: Path, schema: pa.Schema, *, replaces: tuple[Path, ...] = (), shown_as: Path | None = None
    ) -> None:
        self.path = path
        self.shown_as = shown_as or path  # the file a person asked for, named when the write fails
        self.schema = schema
        self.replaces = replaces
        self.metadata: dict[str, str] = {}
        self.tmp_path: Path | None = None
        self._writer: pq.ParquetWriter | None = None

    @property
    def writer(self) -> pq.ParquetWriter:
        if self._writer is None:
            raise RuntimeError("AtomicParquet is used outside its `with` block")
        return self._writer

    def __enter__(self) -> AtomicParquet:
        with storage_errors(self.shown_as):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            clear_stale_temporaries(self.path)
            self.tmp_path = create_temporary(
                self.path.parent, prefix=f".{self.path.name}.{os.getpid()}.", suffix=".tmp"
            )
            try:
                self._writer = pq.ParquetWriter(self.tmp_path, self.schema)
            except BaseException:
                discard_file(self.tmp_path)
                raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if exc_type is None:
            with storage_errors(self.shown_as):
                self._commit()
            return
        self._abort()
        error = storage_error(exc, self.shown_as) if exc is not None else None
        if error is not None and error is not exc:
            raise error from exc

    def _commit(self) -> None:
        assert self.tmp_path is not None
        try:
            if self.metadata:
                self.writer.add_key_value_metadata(self.metadata)
            self.writer.close()
            with open(self.tmp_path, "rb+") as handle:
                os.fsync(handle.fileno())
            for stale in self.replaces:
                stale.unlink(missing_ok=True)
            os.replace(self.tmp_path, self.path)
        except BaseException:
            discard_file(self.tmp_path)
            raise
        fsync_dir(self.path.parent)

    def _abort(self) -> None:
        try:
            self.writer.close()
        except OSError:
            pass  # the write already failed (often a full disk, which closing hits again); that error is reported
        finally:
            if self.tmp_path is not None:
                discard_file(self.tmp_path)


def write_rejected(tables: list[pa.Table], path: Path) -> Path:
    """Write rejected rows (as text) with their row numbers and reasons."""
    table = pa.concat_tables(tables, promote_options="permissive")
    with AtomicParquet(path, table.schema) as out:
        out.writer.write_table(table)
    return path


def rejected_path_for(output_path: Path) -> Path:
    return output_path.with_name(output_path.stem + ".rejected.parquet")


class RejectedRows:
    """The rejected-rows file of one output: written aside while the output is open, shown after it.

    The previous run's rejected file is removed in the output's commit (`AtomicParquet.replaces`);
    this run's appears by one rename once the output is in place, so a rejected file beside an
    output always belongs to it.
    """

    def __init__(self, output_path: Path) -> None:
        self.path = rejected_path_for(output_path)
        self.pending = self.path.with_name(f".{self.path.name}.{os.getpid()}.pending.tmp")
        self.written = False

    def write(self, tables: list[pa.Table]) -> None:
        if tables:
            write_rejected(tables, self.pending)
            self.written = True

    def discard(self) -> None:
        discard_file(self.pending)

    def publish(self) -> Path | None:
        if not self.written:
            return None
        try:
            with storage_errors(self.path):
                os.replace(self.pending, self.path)
                fsync_dir(self.path.parent)
        except BaseException:
            self.discard()
            raise
        return self.path
