"""Input files cut into ranges of whole row groups: the units that scoring batches by.

A Parquet file of many rows is cut into ranges of consecutive row groups, so that several
workers can share it. Where the cuts fall depends only on the file's row-group sizes and the
job's settings, never on the number of workers; the single-process run batches the same
ranges, so both compute exactly the same predictions. A CSV file is one range.
"""

from __future__ import annotations

from dataclasses import dataclass

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from regress_core.data.tables import PARQUET_MAGIC, PARQUET_SUFFIXES
from regress_core.errors import ConfigError, DataError

DEFAULT_PARTITION_ROWS = 1_000_000


@dataclass(frozen=True)
class FileRange:
    """Rows of one input file that are scored as a unit, in batches that restart at its start.

    Attributes:
        path: A local path or fsspec URL.
        first_group: The range's first row group.
        groups: How many row groups it spans; None for the whole file.
        first_row: The file's row number of the range's first row (rejected rows are named by it).
    """

    path: str
    first_group: int = 0
    groups: int | None = None
    first_row: int = 0

    @property
    def row_groups(self) -> list[int] | None:
        """The row groups to read, or None for all of the file."""
        return None if self.groups is None else list(range(self.first_group, self.first_group + self.groups))


def cut_ranges(files: list[str], *, batch_rows: int, partition_rows: int = DEFAULT_PARTITION_ROWS) -> list[FileRange]:
    """The ranges of every input file, in input order.

    Args:
        files: Local paths or fsspec URLs, as `expand_inputs` gives them.
        batch_rows: Rows per record batch; no range is cut smaller.
        partition_rows: Rows a range should hold at least (whole row groups, so often more).

    Raises:
        ConfigError: `partition_rows` is not positive.
        DataError: a Parquet file's footer cannot be read.
    """
    if partition_rows < 1:
        raise ConfigError(f"partition_rows must be positive, got {partition_rows}")
    target_rows = max(partition_rows, batch_rows)
    return [piece for path in files for piece in cut_file(path, target_rows=target_rows)]


def cut_file(path: str, *, target_rows: int) -> list[FileRange]:
    """A file's ranges of consecutive row groups holding at least `target_rows` rows each.

    The last range also takes the row groups after its target was reached that fall short of
    another one. A file that gives one range (a CSV file, a small Parquet file) is read whole.
    """
    sizes = read_row_group_rows(path)
    if sizes is None:
        return [FileRange(path)]
    starts: list[int] = []
    held = target_rows
    for index, rows in enumerate(sizes):
        if held >= target_rows:
            starts.append(index)
            held = 0
        held += rows
    if len(starts) > 1 and held < target_rows:
        starts.pop()  # a short tail joins the range before it
    if len(starts) <= 1:
        return [FileRange(path)]
    ends = [*starts[1:], len(sizes)]
    return [
        FileRange(path, first_group=start, groups=end - start, first_row=sum(sizes[:start]))
        for start, end in zip(starts, ends, strict=True)
    ]


def read_row_group_rows(path: str) -> list[int] | None:
    """Rows in each row group of a Parquet file, from its footer; None for a CSV or an empty file.

    A file counts as Parquet exactly where `iter_batches` reads it as Parquet: by its name or
    its first bytes.
    """
    try:
        with fsspec.open(path, "rb") as handle:
            head = handle.read(4)
            if not head or not (path.lower().endswith(PARQUET_SUFFIXES) or head == PARQUET_MAGIC):
                return None  # reading it says what is wrong with an empty file
            handle.seek(0)
            metadata = pq.read_metadata(handle)
    except pa.ArrowException as exc:
        raise DataError(f"cannot read {path}: {str(exc).splitlines()[0]}") from exc
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or str(exc).splitlines()[0]}") from exc
    return [metadata.row_group(index).num_rows for index in range(metadata.num_row_groups)]
