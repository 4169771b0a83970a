"""Batch scoring: stream input files through a model package into a Parquet file.

Each batch is read (`batches`), checked against the data contract (`checks`), predicted
(`predict`) and written as output rows (`outputs`), each phase timed. Predictions go to a
temporary file beside the output and are renamed into place only when complete (`writers`),
so a failed or killed job never leaves a partial file at the output path. Inputs and the
output may be object-storage URLs: an output URL is written locally and uploaded whole once
complete (`uploads`).
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from regress_core.errors import ConfigError, DataError, DataValidationError
from regress_core.evaluation.drift import DriftCounter
from regress_core.failpoints import failpoint
from regress_core.objectstore import is_remote
from regress_core.registry.package import ModelPackage
from regress_core.scoring.batches import (
    DEFAULT_BATCH_ROWS,
    as_frame,
    expand_inputs,
    inputs_sha256,
    iter_batches,
    total_rows,
)
from regress_core.scoring.checks import BatchCheck, check_batch
from regress_core.scoring.intervals import interval_bounds, interval_level
from regress_core.scoring.options import check_not_an_input, check_options, check_output_path
from regress_core.scoring.outputs import (
    Stamp,
    check_stamp_names,
    output_metadata,
    output_schema,
    output_table,
    pass_through_columns,
    rejected_table,
    writer_schema,
)
from regress_core.scoring.predict import predict_batch, scoring_precision
from regress_core.scoring.ranges import DEFAULT_PARTITION_ROWS, FileRange, cut_ranges
from regress_core.scoring.results import PartResult, ScoreSummary, summarize
from regress_core.scoring.uploads import RemoteOutput
from regress_core.scoring.writers import AtomicParquet, RejectedRows


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
    stamp: Stamp | None = None,
    interval: float | None = None,
) -> PartResult:
    """Score every batch of `ranges` in order and append predictions to `writer`, timing each phase.

    `bar`, when given, advances by the rows of each batch; `stamp`, when given, is written on every row
    (`schema` then ends with its columns); `interval`, a level the package holds, adds each prediction's
    bounds (`schema` then has `lower` and `upper`).

    Batches restart at the start of each range, so a range scores alike whichever run reads it.
    """
    features = package.contract.feature_names
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
            frame = as_frame(batch)
            checked = check_batch(frame, package.contract)
            rows, numeric = _rows_to_score(checked, frame, on_invalid, path, first_row, result)
            clock = _lap(seconds, "checks", clock)
            prediction = predict_batch(package, numeric, dtype)
            bounds = interval_bounds(package, prediction, interval)
            clock = _lap(seconds, "model", clock)
            writer.write_table(output_table(batch, numeric, rows, prediction, schema, path, stamp, bounds))
            failpoint("score:writing")
            clock = _lap(seconds, "write", clock)
            _count_batch(result, package, checked, numeric)
            if bar is not None:
                bar.update(checked.valid.size)
            first_row += checked.valid.size
            clock = _lap(seconds, "checks", clock)
    return result


def _rows_to_score(
    checked: BatchCheck, frame: pd.DataFrame, on_invalid: str, path: str, first_row: int, result: PartResult
) -> tuple[np.ndarray | None, pd.DataFrame]:
    """The rows of a checked batch to score (None for all) and their features.

    Invalid rows fail the job with on_invalid="fail"; with "drop" they join `result.rejected`.
    """
    if not checked.n_invalid:
        return None, checked.numeric
    if on_invalid == "fail":
        raise DataValidationError(
            f"scoring input failed validation: {checked.n_invalid} rows in {path} break the data contract "
            f"({checked.first_problems(first_row=first_row)}); nothing was written; "
            "--on-invalid drop scores the valid rows"
        )
    result.rejected.append(rejected_table(frame, ~checked.valid, checked.reasons, first_row))
    return checked.valid, checked.numeric[checked.valid]


def _count_batch(result: PartResult, package: ModelPackage, checked: BatchCheck, numeric: pd.DataFrame) -> None:
    """Add a scored batch's rows, drift and unseen categories to `result`."""
    result.drift.update(numeric)
    for name, count in package.preprocessor.count_unseen(numeric).items():
        result.unseen[name] = result.unseen.get(name, 0) + count
    result.rows_in += checked.valid.size
    result.rows_scored += len(numeric)
    result.rows_rejected += checked.n_invalid


def _lap(seconds: dict[str, float], phase: str, since: float) -> float:
    now = time.perf_counter()
    seconds[phase] += now - since
    return now


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
    as_of: date | None = None,
    stamp: bool = False,
    input_sha256: str | None = None,
    interval: float | str | None = None,
) -> ScoreSummary:
    """Score an input file, folder or glob into one predictions Parquet file.

    Args:
        package: A loaded, verified model package.
        input_location: CSV/Parquet file, folder or glob; local path or fsspec URL.
        output: .parquet path or object-storage URL for the predictions.
        keep: Input columns copied next to the prediction (for example an id).
        on_invalid: "fail" writes nothing on a contract violation; "drop" writes such rows aside.
        batch_rows: Rows per record batch; bounds memory.
        precision: "auto", "float32" or "bfloat16" (see `scoring_precision`).
        partition_rows: A Parquet file is batched in ranges of whole row groups of at least this
            many rows, as the Dask path cuts its partitions (`cut_ranges`): both predict alike.
        progress: Show a progress bar of rows scored (of all rows, for Parquet inputs) on stderr.
        as_of: The job's day, in the output's metadata (`regress.as_of`); `stamp` writes it, the
            model's name and its version on every row.
        input_sha256: The inputs' hash when the caller has just computed it (it is not computed again).
        interval: Add `lower` and `upper`: intervals at this level, or "model" for the version's own.

    Raises:
        DataValidationError: with on_invalid="fail", when a row breaks the contract.
        ConfigError: `stamp` without `as_of`, a kept column named like an output column, or a level the
            version cannot give (checked before any input is read).
        RegistryError: `interval` with a version published before intervals.
    """
    check_options(on_invalid, batch_rows, keep, interval=interval is not None)
    job = _Job(
        input_location=input_location,
        keep=list(dict.fromkeys(keep)),
        on_invalid=on_invalid,
        batch_rows=batch_rows,
        precision=precision,
        partition_rows=partition_rows,
        progress=progress,
        as_of=as_of,
        stamp=_stamp(package, list(keep), as_of) if stamp else None,
        input_sha256=input_sha256,
        interval=interval_level(package, interval),
    )
    return _score_to(package, job, output)


def _score_to(package: ModelPackage, job: _Job, output: str) -> ScoreSummary:
    """Score into a local output, or into a local file uploaded whole to an object-storage output."""
    upload = RemoteOutput(output) if is_remote(output) else None
    try:
        summary = _score_into(
            package, job, upload.local if upload else check_output_path(output), url=upload.url if upload else None
        )
        if upload is not None:
            summary = upload.publish_summary(summary, job.started)
    finally:
        if upload is not None:
            upload.discard()
    return summary


@dataclass(frozen=True)
class _Job:
    """What `score` was asked to do, as `_score_into` does it."""

    input_location: str
    keep: list[str]
    on_invalid: str
    batch_rows: int
    precision: str
    partition_rows: int
    progress: bool
    as_of: date | None
    stamp: Stamp | None
    input_sha256: str | None
    interval: float | None  # the level of the intervals, None without them
    started: float = field(default_factory=time.time)


def _stamp(package: ModelPackage, keep: list[str], as_of: date | None) -> Stamp:
    if as_of is None:
        raise ConfigError("stamping the predictions needs the job's day (as_of)")
    check_stamp_names(keep)
    return Stamp(package.name, package.version, as_of)


def _score_into(package: ModelPackage, job: _Job, output_path: Path, *, url: str | None) -> ScoreSummary:
    """Score into a local file (for an output URL, the file that is uploaded once complete)."""
    files = expand_inputs(job.input_location)
    check_not_an_input(output_path, files, url=url)
    # Hashing reads every input byte; it runs beside scoring (hashlib releases the GIL).
    hashing = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    input_hash_future = hashing.submit(lambda: job.input_sha256 or inputs_sha256(files))
    rejected = RejectedRows(output_path)
    try:
        schema = output_schema(files, job.keep, package.contract, job.stamp, interval=job.interval is not None)
        ranges = cut_ranges(files, batch_rows=job.batch_rows, partition_rows=job.partition_rows)
        total = total_rows(files) if job.progress else None
        with (
            AtomicParquet(output_path, writer_schema(schema), replaces=(rejected.path,)) as out,
            tqdm(total=total, desc="score", unit="rows", unit_scale=True, disable=not job.progress, leave=False) as bar,
        ):
            result = score_stream(
                package,
                ranges,
                out.writer,
                keep=job.keep,
                on_invalid=job.on_invalid,
                batch_rows=job.batch_rows,
                schema=schema,
                precision=job.precision,
                bar=bar,
                stamp=job.stamp,
                interval=job.interval,
            )
            if result.rows_in == 0:
                raise DataError(f"no rows to score in {job.input_location}")
            input_hash = input_hash_future.result()
            out.metadata = output_metadata(
                package, input_hash, result.rows_scored, result.precision, job.as_of, job.interval
            )
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
        started=job.started,
        interval=job.interval,
    )
