"""The one small protocol every training source follows: a fingerprint, a contract, Arrow batches."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import pandas as pd
import pyarrow as pa

from regress_core.data.contract import DataContract


class Source(Protocol):
    """Where a training table comes from."""

    @property
    def location(self) -> str:
        """The source as a person named it (`california_housing`, a path, a URL)."""
        ...

    def fingerprint(self) -> str:
        """What identifies the content, cheaply: its bytes' hash, or a generator's settings."""
        ...

    def contract(self) -> DataContract | None:
        """The contract the source ships with, or None when it must be given or inferred."""
        ...

    def batches(self) -> Iterator[pa.RecordBatch]:
        """The table's rows as Arrow record batches of one schema, with string column names."""
        ...


def frame_batches(df: pd.DataFrame) -> Iterator[pa.RecordBatch]:
    """A pandas frame as Arrow record batches (no index), column names made strings."""
    named = df.rename(columns=str)
    yield from pa.Table.from_pandas(named, preserve_index=False).to_batches()


def read_source(source: Source) -> pa.Table:
    """Every batch of a source as one Arrow table."""
    batches = list(source.batches())
    return pa.Table.from_batches(batches)
