"""Dated partitions: a path or URL template holding `{date}` (or `{as_of}`), read for a window's days only.

`data/sales/dt={date}/part.parquet` names one file a day; `dt={date}/*.parquet` a glob of files a
day; `s3://bucket/sales/dt={date}/part.parquet` the same in object storage, through fsspec. Each
day's name is made from the template and only that name is looked up (a glob is listed only
inside its own day's folder), so a folder holding years of partitions costs one lookup per day
of the window, never a listing of the whole folder. `{as_of}` names the one partition of the
run's own date.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
from fsspec.core import url_to_fs

from regress_core.data.contract import DataContract
from regress_core.data.sources.base import frame_batches
from regress_core.data.tables import is_url, read_table
from regress_core.data.window import Window, zone
from regress_core.errors import DataError
from regress_core.fileio import sha256_file

DATE = "{date}"
AS_OF = "{as_of}"
GLOB_CHARACTERS = ("*", "?", "[")


def is_dated(location: str) -> bool:
    """Whether a source names dated partitions (`{date}` or `{as_of}` in its path)."""
    return DATE in location or AS_OF in location


def partition_days(template: str, window: Window, as_of: datetime) -> list[date]:
    """The days a template is read for: the window's days, or the one day of `as_of` for `{as_of}`."""
    if AS_OF in template:
        return [as_of.astimezone(zone(window.timezone)).date()]
    return window.days()


def dated_name(template: str) -> str:
    """A name for the data behind a template: the folder above the first dated part (`sales`)."""
    parts = Path(template.split("://", 1)[-1]).parts
    first = next(index for index, part in enumerate(parts) if is_dated(part))
    return parts[first - 1] if first > 0 else "dataset"


@dataclass(frozen=True)
class Partition:
    """One day's files (none when the day is missing)."""

    day: date
    locations: tuple[str, ...]


def expand_partitions(template: str, days: list[date]) -> list[Partition]:
    """Each day's files, found by looking up that day's name only.

    Args:
        template: A path or fsspec URL holding `{date}` or `{as_of}`, optionally a glob.
        days: The days to read, in order.
    """
    partitions = []
    for day in days:
        location = template.replace(DATE, day.isoformat()).replace(AS_OF, day.isoformat())
        fs, path = url_to_fs(location)
        if any(char in path for char in GLOB_CHARACTERS):
            found = sorted(fs.glob(path))
        else:
            found = [path] if fs.isfile(path) else []
        named = tuple(fs.unstrip_protocol(item) if is_url(template) else item for item in found)
        partitions.append(Partition(day, named))
    return partitions


def file_fingerprint(location: str) -> str:
    """A local file's SHA-256; for a URL, the filesystem's key of the object's current state."""
    if is_url(location):
        fs, path = url_to_fs(location)
        return f"{location}@{fs.ukey(path)}"
    return f"{location}@{sha256_file(location)}"


def column_types(df: pd.DataFrame) -> list[tuple[str, str]]:
    return [(str(name), str(dtype)) for name, dtype in df.dtypes.items()]


@dataclass(frozen=True)
class PartitionSource:
    """The files of a dated template for some days; their contract is given or inferred.

    Attributes:
        location: The template as a person wrote it.
        days: The days to read (a window's days).
    """

    location: str
    days: tuple[date, ...]
    partitions: list[Partition] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "partitions", expand_partitions(self.location, list(self.days)))

    def files(self) -> list[str]:
        return [location for partition in self.partitions for location in partition.locations]

    def missing_days(self) -> list[date]:
        return [partition.day for partition in self.partitions if not partition.locations]

    def fingerprint(self) -> str:
        """The content of exactly the files read: each one's hash (or object key), in order."""
        return "\n".join([self.location, *(file_fingerprint(location) for location in self.files())])

    def contract(self) -> DataContract | None:
        return None

    def batches(self) -> Iterator[pa.RecordBatch]:
        """Every file's rows in day order.

        Raises:
            DataError: no file for any day, or a file whose columns or types disagree with the first's.
        """
        files = self.files()
        if not files:
            span = f"{self.days[0]} to {self.days[-1]}" if self.days else "no days"
            raise DataError(f"no partition of {self.location} for any day of the window ({span})")
        first: tuple[str, list[tuple[str, str]]] | None = None
        for location in files:
            df = read_table(location)
            types = column_types(df)
            if first is None:
                first = (location, types)
            elif types != first[1]:
                raise DataError(
                    f"partition {location} does not match {first[0]}: {describe_difference(first[1], types)}"
                )
            yield from frame_batches(df)


def describe_difference(expected: list[tuple[str, str]], found: list[tuple[str, str]]) -> str:
    """What differs between two files' columns, in a few words."""
    expected_types, found_types = dict(expected), dict(found)
    missing = [name for name in expected_types if name not in found_types]
    extra = [name for name in found_types if name not in expected_types]
    changed = [
        f"{name} is {found_types[name]}, not {kind}"
        for name, kind in expected_types.items()
        if name in found_types and found_types[name] != kind
    ]
    words = [f"missing {', '.join(missing)}"] if missing else []
    words += [f"extra {', '.join(extra)}"] if extra else []
    words += changed or ([] if words else ["columns in another order"])
    return "; ".join(words)
