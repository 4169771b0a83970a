"""Reading scoring input: the files behind an input, their hash, their sizes and their record batches.

Input is read in record batches, so memory depends on the batch size, not the file size.
Every input may be a local path or an fsspec URL (object storage).
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from collections.abc import Collection, Iterator

import fsspec
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from fsspec.core import url_to_fs

from regress_core.data.tables import CSV_SUFFIXES, PARQUET_SUFFIXES, require_unique_columns
from regress_core.errors import DataError

DEFAULT_BATCH_ROWS = 262_144
# Stream column chunks instead of pre-buffering whole row groups: about a third of the
# memory and faster on large files.
READ_OPTIONS = {"pre_buffer": False, "buffer_size": 1 << 22}
GLOB_CHARS = "*?["


def expand_inputs(location: str) -> list[str]:
    """The files behind an input: a file, a folder of CSV/Parquet files, or a glob; local or URL.

    A folder (or a folder a glob matches, such as a dataset written as `x.parquet/`) stands
    for the CSV and Parquet files inside it.
    """
    fs, path = url_to_fs(location)
    if any(char in path for char in GLOB_CHARS):
        matched = sorted(fs.glob(path))
    elif fs.exists(path):
        matched = [path]
    else:
        raise DataError(f"input not found: {location}")
    found = []
    for name in matched:
        if fs.isdir(name):
            found += sorted(p for p in fs.find(name) if p.lower().endswith(PARQUET_SUFFIXES + CSV_SUFFIXES))
        else:
            found.append(name)
    if not found:
        raise DataError(f"no CSV or Parquet files in {location}")
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    if protocol != "file":
        return [f"{protocol}://{p}" for p in found]
    for name in found:
        if not os.path.isfile(name):  # a pipe or a device would block or never end
            raise DataError(f"input is not a regular file, expected a CSV or Parquet file: {name}")
    return found


def inputs_sha256(files: list[str]) -> str:
    """SHA-256 over the bytes of all input files, in order."""
    digest = hashlib.sha256()
    for name in files:
        try:
            with fsspec.open(name, "rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 22), b""):
                    digest.update(chunk)
        except OSError as exc:
            raise DataError(f"cannot read {name}: {exc.strerror or exc}") from exc
    return digest.hexdigest()


def iter_batches(
    path: str,
    *,
    columns: list[str],
    batch_rows: int,
    text_columns: Collection[str] = (),
    row_groups: list[int] | None = None,
) -> Iterator[pa.RecordBatch | pd.DataFrame]:
    """Yield batches of the needed columns of one CSV or Parquet file.

    Args:
        path: A local path or fsspec URL.
        columns: The columns to read, in order.
        batch_rows: Rows per batch.
        text_columns: CSV columns read as text, exactly as written (`00123` stays `00123`);
            Parquet columns keep the types the file gives them.
        row_groups: The Parquet row groups to read (a `FileRange`'s), or None for the whole file.
    """
    try:
        with fsspec.open(path, "rb") as handle:
            head = handle.read(4)
            if not head:
                raise DataError(f"{path} is empty")
            if path.lower().endswith(PARQUET_SUFFIXES) or head == b"PAR1":
                handle.seek(0)
                parquet = pq.ParquetFile(handle, **READ_OPTIONS)
                require_unique_columns(parquet.schema_arrow.names, path)
                require_present(parquet.schema_arrow.names, columns, path)
                yield from parquet.iter_batches(batch_size=batch_rows, columns=columns, row_groups=row_groups)
                return
            handle.seek(0)
            text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
            header = next(csv.reader(text), [])
            text.detach()
            require_unique_columns([name.strip() for name in header], path)
            handle.seek(0)
            reader = pd.read_csv(
                handle,
                chunksize=batch_rows,
                keep_default_na=False,
                na_values=[""],
                usecols=lambda c: c in columns,
                dtype={name: str for name in text_columns},
            )
            for chunk in reader:
                require_present(list(chunk.columns), columns, path)
                yield chunk[columns]
    except (pa.ArrowException, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read {path}: {str(exc).splitlines()[0]}") from exc
    except OSError as exc:  # permission denied, a folder, a file that vanished
        raise DataError(f"cannot read {path}: {exc.strerror or str(exc).splitlines()[0]}") from exc


def parquet_schema(path: str) -> pa.Schema | None:
    """The Arrow schema of a Parquet file (from its footer), or None for a CSV file."""
    try:
        with fsspec.open(path, "rb") as handle:
            if not (path.lower().endswith(PARQUET_SUFFIXES) or handle.read(4) == b"PAR1"):
                return None
            handle.seek(0)
            return pq.read_schema(handle)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"cannot read {path}: {str(exc).splitlines()[0]}") from exc


def total_rows(files: list[str]) -> int | None:
    """The rows of all inputs from their Parquet footers; None when a CSV file's count is unknown."""
    total = 0
    for path in files:
        try:
            with fsspec.open(path, "rb") as handle:
                if not (path.lower().endswith(PARQUET_SUFFIXES) or handle.read(4) == b"PAR1"):
                    return None
                handle.seek(0)
                total += pq.ParquetFile(handle).metadata.num_rows
        except (pa.ArrowException, OSError):
            return None  # reading the file names the fault
    return total


def require_present(names: list[str], columns: list[str], path: str) -> None:
    missing = [name for name in columns if name not in names]
    if missing:
        raise DataError(f"{path} is missing columns: {', '.join(missing)}")


def as_frame(batch: pa.RecordBatch | pd.DataFrame) -> pd.DataFrame:
    """A batch as a pandas frame (a CSV batch is one already)."""
    return batch if isinstance(batch, pd.DataFrame) else batch.to_pandas()
