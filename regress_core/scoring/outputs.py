"""What a predictions file holds: its columns and their types, each batch's rows, its metadata.

The output keeps the columns a person asked for, then `prediction`, then (with intervals) its
`lower` and `upper` bounds, then (when stamped) the model, its version and the job's day. A
kept feature comes out as the model read it; another kept column as the input holds it, typed
by the Parquet inputs (whose types are reconciled across files). Rejected rows are kept as
text, with their row numbers and reasons.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa

from regress_core.config import INTERVAL_COLUMNS, INTERVAL_LEVEL_KEY, PREDICTION_COLUMN
from regress_core.data.contract import DataContract
from regress_core.errors import ConfigError, DataError
from regress_core.evaluation.intervals import level_key
from regress_core.registry.journal import utc_now
from regress_core.registry.package import ModelPackage
from regress_core.scoring.batches import parquet_schema

TYPE_FROM = b"regress.type_from"  # field metadata: the input file that gave a kept column its type
STAMP_COLUMNS = ("model", "model_version", "as_of")


@dataclass(frozen=True)
class Stamp:
    """The model, version and day written on every row of a stamped output."""

    model: str
    model_version: str
    as_of: date
    _columns: dict[int, list[pa.Array]] = field(default_factory=dict, compare=False, repr=False)

    def fields(self) -> list[pa.Field]:
        # Dictionary-encoded text: Parquet takes the one value as the column's dictionary instead of
        # hashing every row's copy, which would make a stamped job write at about half the speed.
        text = pa.dictionary(pa.int32(), pa.string())
        return [pa.field("model", text), pa.field("model_version", text), pa.field("as_of", pa.date32())]

    def arrays(self, rows: int) -> list[pa.Array]:
        """The stamp's columns for a batch of `rows` rows: constant arrays made once per batch size."""
        if rows not in self._columns:
            if len(self._columns) > 4:  # batch sizes repeat; the odd last batch of each range does not
                self._columns.clear()
            first = pa.array(np.zeros(rows, dtype=np.int32))
            self._columns[rows] = [
                pa.DictionaryArray.from_arrays(first, pa.array([self.model])),
                pa.DictionaryArray.from_arrays(first, pa.array([self.model_version])),
                pa.repeat(pa.scalar(self.as_of, pa.date32()), rows),
            ]
        return self._columns[rows]


def check_stamp_names(keep: list[str]) -> None:
    """Refuse kept columns named like the stamp's, which would be written twice."""
    clash = [name for name in keep if name in STAMP_COLUMNS]
    if clash:
        raise ConfigError(
            f"kept column {clash[0]} has the name of a stamp column ({', '.join(STAMP_COLUMNS)}); "
            "rename it in the input or leave out --stamp"
        )


def pass_through_columns(keep: list[str], features: list[str]) -> list[str]:
    """Kept columns that are not features: carried as read, never parsed as numbers."""
    return [name for name in keep if name not in features]


def output_schema(
    files: list[str], keep: list[str], contract: DataContract, stamp: Stamp | None = None, *, interval: bool = False
) -> pa.Schema:
    """Schema of the predictions file: the kept columns, `prediction`, its bounds with `interval`, the stamp's columns.

    A kept feature comes out as the model read it: numbers as float64, categories as text,
    dates as timestamps (naive; zoned input in UTC).
    Another kept column comes out as the input holds it: text from CSV, the file's type from
    Parquet. Parquet files that disagree on it are reconciled where no value changes (integers
    and floats as floats, a column of nulls as the other file's type) and refused otherwise,
    naming both files; CSV text takes the Parquet files' type and must parse as it.

    Raises:
        DataError: two input files give a kept column types that cannot be reconciled.
    """
    features = set(contract.feature_names)
    carried = pass_through_types(files, pass_through_columns(keep, contract.feature_names))
    read_as = {"categorical": pa.string(), "datetime": pa.timestamp("us")}
    fields = [
        pa.field(name, read_as.get(contract.column(name).kind, pa.float64())) if name in features else carried[name]
        for name in keep
    ]
    predicted = [PREDICTION_COLUMN, *(INTERVAL_COLUMNS if interval else ())]
    return pa.schema(
        [*fields, *(pa.field(name, pa.float64()) for name in predicted), *(stamp.fields() if stamp else [])]
    )


def pass_through_types(files: list[str], names: list[str]) -> dict[str, pa.Field]:
    """The output field of each kept non-feature column, its origin file in the field's metadata."""
    chosen: dict[str, pa.Field] = {}
    for path in files if names else []:
        schema = parquet_schema(path)
        if schema is None:
            continue  # CSV: text, which takes the Parquet files' type
        for name in names:
            if name not in schema.names:
                continue  # reading the file names the missing column
            found = pa.field(name, schema.field(name).type, metadata={TYPE_FROM: path})
            chosen[name] = reconcile(chosen[name], found) if name in chosen else found
    return {name: chosen.get(name, pa.field(name, pa.string())) for name in names}


def reconcile(first: pa.Field, second: pa.Field) -> pa.Field:
    """One field for a column two files type differently, or a DataError naming both files."""
    if first.type == second.type:
        return first
    try:
        unified = pa.unify_schemas([pa.schema([first]), pa.schema([second])], promote_options="permissive")
    except (pa.ArrowTypeError, pa.ArrowInvalid) as exc:
        origins = [(side.metadata or {}).get(TYPE_FROM, b"?").decode() for side in (first, second)]
        raise DataError(
            f"kept column {first.name} is {first.type} in {origins[0]} but {second.type} in {origins[1]}; "
            "make the files agree or score them separately"
        ) from exc
    origin = first if unified.field(first.name).type == first.type else second
    return pa.field(first.name, unified.field(first.name).type, metadata=origin.metadata)


def writer_schema(schema: pa.Schema) -> pa.Schema:
    """The schema without the type origins (input paths), as the output file records it."""
    return pa.schema([column.remove_metadata() for column in schema])


def output_table(
    batch: pa.RecordBatch | pd.DataFrame,
    numeric: pd.DataFrame,
    rows: np.ndarray | None,
    prediction: np.ndarray,
    schema: pa.Schema,
    path: str,
    stamp: Stamp | None = None,
    bounds: dict[str, np.ndarray] | None = None,
) -> pa.Table:
    """The output rows of one batch: kept features as the model read them, other kept columns as read, the stamp.

    `bounds` holds the batch's `lower` and `upper` columns when the schema has them (a job with intervals).
    """
    predicted = {PREDICTION_COLUMN: prediction, **(bounds or {})}
    arrays = []
    for column in schema:
        if stamp is not None and column.name in STAMP_COLUMNS:
            continue  # the stamp's columns come last, appended whole below
        if column.name in predicted:
            arrays.append(pa.array(predicted[column.name], type=pa.float64()))
        elif column.name in numeric.columns:
            arrays.append(pa.array(numeric[column.name].to_numpy(), type=column.type, from_pandas=True))
        else:
            arrays.append(_cast_kept(_kept_column(batch, column.name, rows), column, path))
    if stamp is not None:
        arrays += stamp.arrays(len(prediction))
    return pa.Table.from_arrays(arrays, schema=writer_schema(schema))


def _kept_column(batch: pa.RecordBatch | pd.DataFrame, name: str, rows: np.ndarray | None) -> pa.Array:
    """A kept column of the batch as read: Arrow from Parquet, text from CSV; only `rows` if given."""
    if isinstance(batch, pa.RecordBatch):
        column = batch.column(name)
        return column if rows is None else column.filter(pa.array(rows))
    values = batch[name].to_numpy(dtype=object, na_value=None)
    return pa.array(values if rows is None else values[rows], type=pa.string(), from_pandas=True)


def _cast_kept(values: pa.Array, column: pa.Field, path: str) -> pa.Array:
    if values.type == column.type:
        return values
    try:
        return values.cast(column.type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        origin = (column.metadata or {}).get(TYPE_FROM, b"another input file").decode()
        raise DataError(
            f"kept column {column.name} of {path} does not fit the type {column.type} it has in {origin} "
            f"({str(exc).splitlines()[0]}); make the files agree or score them separately"
        ) from exc


def rejected_table(frame: pd.DataFrame, mask: np.ndarray, reasons: np.ndarray, first_row: int) -> pa.Table:
    """The rows of `frame` where `mask` holds, as text, with their row numbers (from `first_row`) and reasons."""
    rows = frame[mask]
    body = {name: rows[name].astype("string").to_numpy(dtype=object, na_value=None) for name in rows.columns}
    body["row_number"] = np.flatnonzero(mask) + first_row
    body["reason"] = reasons[mask]
    return pa.table(body)


def output_metadata(
    package: ModelPackage,
    input_hash: str,
    rows: int,
    precision: str,
    as_of: date | None = None,
    interval: float | None = None,
) -> dict[str, str]:
    """Key-value metadata recorded in the predictions file (the job's day and its intervals' level, if any)."""
    return (
        ({"regress.as_of": as_of.isoformat()} if as_of else {})
        | ({INTERVAL_LEVEL_KEY: level_key(interval)} if interval is not None else {})
        | {
            "regress.model": package.name,
            "regress.model_version": package.version,
            "regress.precision": precision,
            "regress.input_sha256": input_hash,
            "regress.scored_at": utc_now(),
            "regress.rows": str(rows),
            "regress.target": package.contract.target,
        }
    )
