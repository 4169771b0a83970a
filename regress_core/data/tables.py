"""Reading and writing tables (CSV or Parquet, local or fsspec URLs) with clear errors."""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

import fsspec
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from fsspec.registry import known_implementations

from regress_core.data.names import repeated_names
from regress_core.errors import DataError
from regress_core.fileio import atomic_write

PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")
CSV_SUFFIXES = (".csv", ".csv.gz", ".txt")
PARQUET_MAGIC = b"PAR1"
# Enough of a file to tell CSV from Parquet from anything else, whatever the file's size.
SNIFF_BYTES = 1 << 16


def is_url(location: str) -> bool:
    return "://" in location and not location.startswith("file://")


def table_format(location: str, head: bytes) -> str:
    """Return "parquet" or "csv" from the name, else from the first bytes.

    Raises:
        DataError: when the first bytes of a file that is not Parquet hold a NUL byte or are not UTF-8.
    """
    lowered = location.lower()
    if lowered.endswith(PARQUET_SUFFIXES) or head.startswith(PARQUET_MAGIC):
        return "parquet"
    nul = head.find(b"\x00")
    if nul >= 0:
        raise DataError(f"{location} is neither CSV nor Parquet: it holds binary data (a NUL byte at byte {nul})")
    try:
        codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=False)
    except UnicodeDecodeError as exc:
        raise DataError(f"{location} is not UTF-8 text (byte {exc.start}); save it as UTF-8") from exc
    return "csv"


def sniff_table(location: str) -> str:
    """ "csv" or "parquet" from a file's first bytes (and a Parquet file's last ones), reading no more.

    A binary file, however large, is refused after reading `SNIFF_BYTES`.

    Raises:
        DataError: the file is empty, binary, not UTF-8, or Parquet without its footer.
    """
    if not is_url(location):
        _check_local(location)
    try:
        with fsspec.open(location, "rb") as handle:
            head = handle.read(SNIFF_BYTES)
            if not head:
                raise DataError(f"{location} is empty")
            kind = table_format(location, head)
            if kind == "parquet":
                handle.seek(-len(PARQUET_MAGIC), 2)
                if handle.read(len(PARQUET_MAGIC)) != PARQUET_MAGIC:
                    raise DataError(f"{location} is not a readable Parquet file: it has no Parquet footer")
            return kind
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read {location}: {getattr(exc, 'strerror', None) or exc}") from exc


def _check_local(location: str) -> None:
    path = Path(location.removeprefix("file://"))
    if not path.exists():
        raise DataError(f"input not found: {location}")
    if path.is_dir():
        raise DataError(f"input is a folder, expected a CSV or Parquet file: {location}")
    if not path.is_file():  # a pipe or a device would block or never end
        raise DataError(f"input is not a regular file, expected a CSV or Parquet file: {location}")


FILESYSTEM_PACKAGES = {"http": "aiohttp requests", "https": "aiohttp requests"}


def missing_filesystem(location: str) -> str | None:
    """For a URL whose filesystem package is not installed, a sentence saying what to install."""
    if not is_url(location):
        return None
    protocol = location.split("://", 1)[0].lower()
    try:
        fsspec.get_filesystem_class(protocol)
    except ImportError:
        known = known_implementations.get(protocol, {})
        package = FILESYSTEM_PACKAGES.get(protocol) or known.get("class", "").split(".")[0]
        return f"reading {protocol}:// locations needs a package that is not installed: pip install {package}"
    except ValueError:
        return f"unknown protocol {protocol}:// in {location}"
    return None


def read_bytes(location: str) -> bytes:
    """Read a whole local file or URL, naming the location on failure."""
    if not is_url(location):
        _check_local(location)
    try:
        with fsspec.open(location, "rb") as handle:
            return handle.read()
    except PermissionError:
        raise DataError(f"input cannot be read (permission denied): {location}") from None
    except (OSError, ValueError, ImportError) as exc:
        raise DataError(f"cannot open {location}: {exc}") from exc


def require_unique_columns(names: list[str], location: str) -> None:
    """Refuse a table whose header repeats a column name."""
    duplicates = repeated_names(names)
    if duplicates:
        raise DataError(f"{location} has duplicate column names: {', '.join(duplicates)}")


def _read_csv(location: str, payload: bytes) -> pd.DataFrame:
    try:
        text = payload.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{location} is not UTF-8 text (byte {exc.start}); save it as UTF-8") from exc
    if not text.strip():
        raise DataError(f"{location} is empty")
    header = next(csv.reader(io.StringIO(text)), [])
    require_unique_columns([name.strip() for name in header], location)
    try:
        # Only empty fields are blanks: tokens such as "n/a" stay visible as text, so a
        # contract decides whether they are missing values rather than pandas guessing.
        # Types are inferred over the whole column (not per chunk of rows), so an id that turns
        # into `A-2999` far down is one column of text rather than a mix of numbers and text.
        df = pd.read_csv(io.StringIO(text), keep_default_na=False, na_values=[""], low_memory=False)
    except (pd.errors.ParserError, ValueError) as exc:
        raise DataError(f"{location} is not a readable CSV: {str(exc).splitlines()[0]}") from exc
    if df.empty:
        raise DataError(f"{location} has a header but no data rows")
    return df


def _read_parquet(location: str, payload: bytes) -> pd.DataFrame:
    try:
        table = pq.read_table(pa.BufferReader(payload))
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{location} is not a readable Parquet file: {str(exc).splitlines()[0]}") from exc
    require_unique_columns(table.column_names, location)
    if table.num_rows == 0:
        raise DataError(f"{location} has no rows")
    return table.to_pandas()


def read_table(location: str | Path) -> pd.DataFrame:
    """Read a CSV or Parquet table from a path or fsspec URL.

    Raises:
        DataError: one line naming the problem (missing, unreadable, empty, not a table,
            not UTF-8, duplicate column names).
    """
    location = str(location)
    payload = read_bytes(location)
    if not payload:
        raise DataError(f"{location} is empty")
    if table_format(location, payload[:SNIFF_BYTES]) == "parquet":
        return _read_parquet(location, payload)
    return _read_csv(location, payload)


def write_parquet(df: pd.DataFrame, path: str | Path) -> Path:
    """Atomically write a frame as Parquet (no index)."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    return atomic_write(path, lambda tmp: pq.write_table(table, tmp))


def read_parquet(path: str | Path) -> pd.DataFrame:
    """Read a Parquet file written by this project."""
    return pq.read_table(path).to_pandas()
