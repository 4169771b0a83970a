"""Batch scoring: stream input files through a model package into a Parquet file.

Input is read in record batches, so memory depends on the batch size, not the file size.
Predictions go to a temporary file beside the output and are renamed into place only when
complete, so a failed or killed job never leaves a partial file at the output path. Inputs
and the output may be object-storage URLs: an output URL is written locally and uploaded
whole once complete (`uploads`).
"""

from __future__ import annotations

import concurrent.futures
import csv
import hashlib
import io
import os
import time
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import fsspec
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import torch
from fsspec.core import url_to_fs
from tqdm.auto import tqdm

from regress_core.config import PREDICTION_COLUMN
from regress_core.data.contract import DataContract
from regress_core.data.tables import CSV_SUFFIXES, PARQUET_SUFFIXES, is_url, require_unique_columns
from regress_core.errors import ConfigError, DataError, DataValidationError
from regress_core.evaluation.drift import DriftCounter
from regress_core.failpoints import failpoint
from regress_core.model.device import resolve_precision
from regress_core.objectstore import is_remote
from regress_core.registry.package import ModelPackage
from regress_core.registry.store import utc_now
from regress_core.scoring.checks import check_batch
from regress_core.scoring.ranges import DEFAULT_PARTITION_ROWS, FileRange, cut_ranges
from regress_core.scoring.uploads import RemoteOutput
from regress_core.scoring.writers import AtomicParquet, RejectedRows, rejected_path_for

PHASES = ("read", "checks", "model", "write")
PRECISIONS = ("auto", "float32", "bfloat16")

DEFAULT_BATCH_ROWS = 262_144
# Stream column chunks instead of pre-buffering whole row groups: about a third of the
# memory and faster on large files.
READ_OPTIONS = {"pre_buffer": False, "buffer_size": 1 << 22}
GLOB_CHARS = "*?["
TYPE_FROM = b"regress.type_from"  # field metadata: the input file that gave a kept column its type


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


@dataclass
class PartResult:
    """Counts and drift statistics of one scored stretch of input."""

    rows_in: int = 0
    rows_scored: int = 0
    rows_rejected: int = 0
    unseen: dict[str, int] = field(default_factory=dict)
    drift: DriftCounter = field(default_factory=lambda: DriftCounter({}))
    rejected: list[pa.Table] = field(default_factory=list)
    precision: str = "float32"
    # Seconds spent reading input, checking rows (contract, drift, categories), in the model
    # (preprocessing and network) and writing output.
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PHASES, 0.0))

    def add(self, other: PartResult) -> None:
        """Fold another part's counts and seconds into this one (its drift is merged separately)."""
        self.rows_in += other.rows_in
        self.rows_scored += other.rows_scored
        self.rows_rejected += other.rows_rejected
        self.rejected += other.rejected
        self.precision = other.precision
        for name, count in other.unseen.items():
            self.unseen[name] = self.unseen.get(name, 0) + count
        for phase, seconds in other.seconds.items():
            self.seconds[phase] = self.seconds.get(phase, 0.0) + seconds


@dataclass(frozen=True)
class ScoreSummary:
    output_path: str
    rejected_path: str | None
    files: int
    rows_in: int
    rows_scored: int
    rows_rejected: int
    model_version: str
    input_sha256: str
    psi: dict[str, float]
    seconds: float
    unseen_categories: dict[str, int] = field(default_factory=dict)
    model: str = ""
    precision: str = "float32"
    phase_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def rows_per_second(self) -> float:
        return self.rows_in / self.seconds if self.seconds > 0 else 0.0


def _as_frame(batch: pa.RecordBatch | pd.DataFrame) -> pd.DataFrame:
    return batch if isinstance(batch, pd.DataFrame) else batch.to_pandas()


def _kept_column(batch: pa.RecordBatch | pd.DataFrame, name: str, rows: np.ndarray | None) -> pa.Array:
    """A kept column of the batch as read: Arrow from Parquet, text from CSV; only `rows` if given."""
    if isinstance(batch, pa.RecordBatch):
        column = batch.column(name)
        return column if rows is None else column.filter(pa.array(rows))
    values = batch[name].to_numpy(dtype=object, na_value=None)
    return pa.array(values if rows is None else values[rows], type=pa.string(), from_pandas=True)


def _output_table(
    batch: pa.RecordBatch | pd.DataFrame,
    numeric: pd.DataFrame,
    rows: np.ndarray | None,
    prediction: np.ndarray,
    schema: pa.Schema,
    path: str,
) -> pa.Table:
    """The output rows of one batch: kept features as the model read them, other kept columns as read."""
    arrays = []
    for column in schema:
        if column.name == PREDICTION_COLUMN:
            arrays.append(pa.array(prediction, type=pa.float64()))
        elif column.name in numeric.columns:
            arrays.append(pa.array(numeric[column.name].to_numpy(), type=column.type, from_pandas=True))
        else:
            arrays.append(_cast_kept(_kept_column(batch, column.name, rows), column, path))
    return pa.Table.from_arrays(arrays, schema=writer_schema(schema))


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


def _rejected_table(frame: pd.DataFrame, mask: np.ndarray, reasons: np.ndarray, first_row: int) -> pa.Table:
    rows = frame[mask]
    body = {name: rows[name].astype("string").to_numpy(dtype=object, na_value=None) for name in rows.columns}
    body["row_number"] = np.flatnonzero(mask) + first_row
    body["reason"] = reasons[mask]
    return pa.table(body)


def score_stream(
    package: ModelPackage,
    ranges: list[FileRange],
    writer: pq.ParquetWriter,
    *,
    keep: list[str],
    on_invalid: str,
    batch_rows: int,
    schema: pa.Schema,
    precision: str = "auto",
    bar: tqdm | None = None,
) -> PartResult:
    """Score every batch of `ranges` in order and append predictions to `writer`, timing each phase.

    `bar`, when given, advances by the rows of each batch.

    Batches restart at the start of each range, so a range scores alike whichever run reads it.
    """
    contract = package.contract
    features = contract.feature_names
    columns = list(dict.fromkeys(keep + features))
    passed_through = pass_through_columns(keep, features)
    dtype = scoring_precision(precision, package)
    result = PartResult(
        drift=DriftCounter(package.metadata.get("feature_profile", {})), precision=str(dtype).removeprefix("torch.")
    )
    seconds = result.seconds
    for part in ranges:
        path, first_row = part.path, part.first_row
        clock = time.perf_counter()
        for batch in iter_batches(
            path, columns=columns, batch_rows=batch_rows, text_columns=passed_through, row_groups=part.row_groups
        ):
            clock = _lap(seconds, "read", clock)
            frame = _as_frame(batch)
            checked = check_batch(frame, contract)
            rows = None
            if checked.n_invalid:
                if on_invalid == "fail":
                    raise DataValidationError(
                        f"scoring input failed validation: {checked.n_invalid} rows in {path} break the data contract "
                        f"({checked.first_problems(first_row=first_row)}); nothing was written; "
                        "--on-invalid drop scores the valid rows"
                    )
                result.rejected.append(_rejected_table(frame, ~checked.valid, checked.reasons, first_row))
                rows = checked.valid
                numeric = checked.numeric[rows]
            else:
                numeric = checked.numeric
            clock = _lap(seconds, "checks", clock)
            prediction = package.predict(numeric, precision=dtype) if len(numeric) else np.empty(0)
            clock = _lap(seconds, "model", clock)
            writer.write_table(_output_table(batch, numeric, rows, prediction, schema, path))
            failpoint("score:writing")
            clock = _lap(seconds, "write", clock)
            result.drift.update(numeric)
            for name, count in package.preprocessor.count_unseen(numeric).items():
                result.unseen[name] = result.unseen.get(name, 0) + count
            result.rows_in += checked.valid.size
            if bar is not None:
                bar.update(checked.valid.size)
            result.rows_scored += len(numeric)
            result.rows_rejected += checked.n_invalid
            first_row += checked.valid.size
            clock = _lap(seconds, "checks", clock)
    return result


def _lap(seconds: dict[str, float], phase: str, since: float) -> float:
    now = time.perf_counter()
    seconds[phase] += now - since
    return now


def scoring_precision(choice: str, package: ModelPackage) -> torch.dtype:
    """The dtype of the network's matrix products while scoring, chosen like `train.precision`.

    "auto" takes bfloat16 where the model's device computes it natively (CPUs with AVX512-BF16
    or AMX, recent GPUs) and float32 elsewhere, and float32 for a closed-form linear model,
    whose one product has nothing to gain; "float32" and "bfloat16" are taken as given.
    """
    if choice not in PRECISIONS:
        raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, got {choice!r}")
    if choice == "auto" and package.spec.kind == "linear":
        return torch.float32
    return resolve_precision(choice, next(package.model.parameters()).device)


def pass_through_columns(keep: list[str], features: list[str]) -> list[str]:
    """Kept columns that are not features: carried as read, never parsed as numbers."""
    return [name for name in keep if name not in features]


def output_schema(files: list[str], keep: list[str], contract: DataContract) -> pa.Schema:
    """Schema of the predictions file: the kept columns, then `prediction`.

    A kept feature comes out as the model read it: numbers as float64, categories as text.
    Another kept column comes out as the input holds it: text from CSV, the file's type from
    Parquet. Parquet files that disagree on it are reconciled where no value changes (integers
    and floats as floats, a column of nulls as the other file's type) and refused otherwise,
    naming both files; CSV text takes the Parquet files' type and must parse as it.

    Raises:
        DataError: two input files give a kept column types that cannot be reconciled.
    """
    features = set(contract.feature_names)
    carried = pass_through_types(files, pass_through_columns(keep, contract.feature_names))
    fields = [
        pa.field(name, pa.string() if contract.column(name).kind == "categorical" else pa.float64())
        if name in features
        else carried[name]
        for name in keep
    ]
    return pa.schema([*fields, pa.field(PREDICTION_COLUMN, pa.float64())])


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


def check_output_path(output: str) -> Path:
    """Predictions go to a local path, so that they can be renamed into place atomically."""
    if is_url(output):
        raise ConfigError(f"--output must be a local path, got {output}")
    path = Path(output).expanduser().resolve()
    if path.is_dir():
        raise ConfigError(f"--output is a folder, expected a file path: {output}")
    if path.suffix.lower() not in PARQUET_SUFFIXES:
        raise ConfigError(f"--output must be a Parquet file (.parquet), got {output}")
    return path


def check_not_an_input(output_path: Path, files: list[str], *, url: str | None = None) -> None:
    """Refuse an output (or its rejected-rows file) that is one of the inputs: it would replace it."""
    written = [output_path, rejected_path_for(output_path)]
    for name in files:
        if is_url(name):
            targets = {url, url.rsplit(".", 1)[0] + ".rejected.parquet"} if url is not None else set()
            if url_to_fs(name)[1].rstrip("/") in {url_to_fs(target)[1].rstrip("/") for target in targets}:
                raise ConfigError(f"--output {url} would overwrite the input {name}; write the predictions elsewhere")
            continue
        source = Path(name).resolve()
        for target in written:
            if source == target.resolve() or (target.exists() and os.path.samefile(source, target)):
                raise ConfigError(
                    f"--output {output_path} would overwrite the input {name}; write the predictions elsewhere"
                )


def check_options(on_invalid: str, batch_rows: int, keep: Collection[str] = ()) -> None:
    if PREDICTION_COLUMN in keep:
        raise ConfigError(
            f"an input column named {PREDICTION_COLUMN!r} cannot be kept: the output's own "
            f"{PREDICTION_COLUMN} column has that name; rename it in the input"
        )
    if on_invalid not in ("fail", "drop"):
        raise ConfigError(f"on_invalid must be fail or drop, got {on_invalid!r}")
    if batch_rows < 1:
        raise ConfigError(f"batch_rows must be positive, got {batch_rows}")


def score(
    package: ModelPackage,
    *,
    input_location: str,
    output: str,
    keep: Sequence[str] = (),
    on_invalid: str = "fail",
    batch_rows: int = DEFAULT_BATCH_ROWS,
    precision: str = "auto",
    partition_rows: int = DEFAULT_PARTITION_ROWS,
    progress: bool = False,
) -> ScoreSummary:
    """Score an input file, folder or glob into one predictions Parquet file.

    Args:
        package: A loaded, verified model package.
        input_location: CSV/Parquet file, folder or glob; local path or fsspec URL.
        output: .parquet path or object-storage URL for the predictions.
        keep: Input columns copied next to the prediction (for example an id).
        on_invalid: "fail" writes nothing on any contract violation; "drop" scores the
            valid rows and writes the rejected ones, with reasons, beside the output.
        batch_rows: Rows per record batch; bounds memory.
        precision: "auto", "float32" or "bfloat16" (see `scoring_precision`).
        partition_rows: A Parquet file is batched in ranges of whole row groups of at least
            this many rows, the partitions of the Dask path (see `cut_ranges`), so that both
            paths give the same predictions.
        progress: Show a progress bar of rows scored (of all rows, for Parquet inputs) on stderr.

    Raises:
        DataValidationError: with on_invalid="fail", when a row breaks the contract.
    """
    started = time.time()
    check_options(on_invalid, batch_rows, keep)
    upload = RemoteOutput(output) if is_remote(output) else None
    try:
        summary = _score_into(
            package,
            input_location=input_location,
            output_path=upload.local if upload else check_output_path(output),
            keep=list(dict.fromkeys(keep)),
            on_invalid=on_invalid,
            batch_rows=batch_rows,
            precision=precision,
            partition_rows=partition_rows,
            started=started,
            url=upload.url if upload else None,
            progress=progress,
        )
        if upload is not None:
            summary = upload.publish_summary(summary, started)
    finally:
        if upload is not None:
            upload.discard()
    return summary


def _score_into(
    package: ModelPackage,
    *,
    input_location: str,
    output_path: Path,
    keep: list[str],
    on_invalid: str,
    batch_rows: int,
    precision: str,
    partition_rows: int,
    started: float,
    url: str | None,
    progress: bool = False,
) -> ScoreSummary:
    """Score into a local file (for an output URL, the file that is uploaded once complete)."""
    files = expand_inputs(input_location)
    check_not_an_input(output_path, files, url=url)
    # Hashing reads every input byte; it runs beside scoring (hashlib releases the GIL).
    hashing = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    input_hash_future = hashing.submit(inputs_sha256, files)
    rejected = RejectedRows(output_path)
    try:
        schema = output_schema(files, keep, package.contract)
        ranges = cut_ranges(files, batch_rows=batch_rows, partition_rows=partition_rows)
        total = total_rows(files) if progress else None
        with (
            AtomicParquet(output_path, writer_schema(schema), replaces=(rejected.path,)) as out,
            tqdm(total=total, desc="score", unit="rows", unit_scale=True, disable=not progress, leave=False) as bar,
        ):
            result = score_stream(
                package,
                ranges,
                out.writer,
                keep=keep,
                on_invalid=on_invalid,
                batch_rows=batch_rows,
                schema=schema,
                precision=precision,
                bar=bar,
            )
            if result.rows_in == 0:
                raise DataError(f"no rows to score in {input_location}")
            input_hash = input_hash_future.result()
            out.metadata = output_metadata(package, input_hash, result.rows_scored, result.precision)
            rejected.write(result.rejected)
    except BaseException:
        rejected.discard()
        raise
    finally:
        hashing.shutdown(wait=True)
    return summarize(
        result,
        output_path=output_path,
        rejected=rejected.publish(),
        files=files,
        package=package,
        input_hash=input_hash,
        started=started,
    )


def output_metadata(package: ModelPackage, input_hash: str, rows: int, precision: str) -> dict[str, str]:
    """Key-value metadata recorded in the predictions file."""
    return {
        "regress.model": package.name,
        "regress.model_version": package.version,
        "regress.precision": precision,
        "regress.input_sha256": input_hash,
        "regress.scored_at": utc_now(),
        "regress.rows": str(rows),
        "regress.target": package.contract.target,
    }


def summarize(
    result: PartResult,
    *,
    output_path: Path,
    rejected: Path | None,
    files: list[str],
    package: ModelPackage,
    input_hash: str,
    started: float,
) -> ScoreSummary:
    return ScoreSummary(
        output_path=str(output_path),
        rejected_path=str(rejected) if rejected else None,
        files=len(files),
        rows_in=result.rows_in,
        rows_scored=result.rows_scored,
        rows_rejected=result.rows_rejected,
        model_version=package.version,
        model=package.name,
        input_sha256=input_hash,
        psi=result.drift.psi(),
        seconds=time.time() - started,
        unseen_categories=result.unseen,
        precision=result.precision,
        phase_seconds={phase: round(value, 3) for phase, value in result.seconds.items()},
    )
