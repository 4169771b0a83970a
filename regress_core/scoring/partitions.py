"""Scoring split into partitions that run on separate workers.

A partition is a range of input rows (`FileRange`): a whole file, or whole row groups of a
large Parquet file. Each partition scores its range into a part file; `combine_partitions`
then streams the parts, in input order, into the final output. Batches restart at each range
in both this path and the single-process path, so both compute exactly the same predictions.

With an object-storage output, workers on other machines upload their part files under a
hidden prefix beside the output key, and the combining step streams them from there into
the output object (written locally and uploaded whole, see `uploads`).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from regress_core.data.contract import DataContract
from regress_core.errors import DataError
from regress_core.objectstore import ObjectFolder, is_remote
from regress_core.registry.package import ModelPackage
from regress_core.scoring.batches import READ_OPTIONS, expand_inputs, inputs_sha256
from regress_core.scoring.options import check_not_an_input, check_options, check_output_path
from regress_core.scoring.outputs import Stamp, check_stamp_names, output_metadata, output_schema, writer_schema
from regress_core.scoring.ranges import DEFAULT_PARTITION_ROWS, FileRange, cut_ranges
from regress_core.scoring.results import PartResult, ScoreSummary, summarize
from regress_core.scoring.streaming import score_stream
from regress_core.scoring.uploads import RemoteOutput, check_output_url
from regress_core.scoring.writers import AtomicParquet, RejectedRows


@dataclass(frozen=True)
class ScoringPlan:
    """What a partitioned scoring job will read and write: one part file per range."""

    files: list[str]
    ranges: list[FileRange]
    input_sha256: str
    output_path: Path
    parts_dir: Path
    schema: pa.Schema
    keep: list[str]
    on_invalid: str
    batch_rows: int
    started: float
    precision: str = "auto"
    output_url: str | None = None  # an object-storage output; its parts go under `parts_url`
    parts_url: str | None = None
    as_of: date | None = None  # the job's day, recorded in the output's metadata
    stamp: Stamp | None = None  # written on every row when set
    interval: float | None = None  # the level of the `lower` and `upper` columns; None without them

    def part_name(self, index: int) -> str:
        return f"part-{index:05d}.parquet"

    def part_path(self, index: int) -> Path:
        return self.parts_dir / self.part_name(index)

    def parts_folder(self) -> ObjectFolder | None:
        return ObjectFolder(self.parts_url) if self.parts_url else None


def plan_scoring(
    *,
    input_location: str,
    output: str,
    keep: list[str],
    contract: DataContract,
    on_invalid: str,
    batch_rows: int,
    precision: str = "auto",
    partition_rows: int = DEFAULT_PARTITION_ROWS,
    as_of: date | None = None,
    stamp: Stamp | None = None,
    interval: float | None = None,
) -> ScoringPlan:
    """Resolve inputs, their ranges and the output schema; parts go to a hidden folder beside the output.

    A Parquet file is cut into ranges of whole row groups of at least `partition_rows` rows
    (see `cut_ranges`), exactly as `score` batches it. `stamp` (the version the partitions
    load, and the job's day) is written on every row. `interval` is a level the version holds
    (see `scoring.intervals.interval_level`): each row gets its `lower` and `upper` bounds.
    """
    check_options(on_invalid, batch_rows, keep, interval=interval is not None)
    if stamp is not None:
        check_stamp_names(keep)
    output_url = check_output_url(output) if is_remote(output) else None
    output_path = Path(output) if output_url else check_output_path(output)
    files = expand_inputs(input_location)
    check_not_an_input(output_path, files, url=output_url)
    keep = list(dict.fromkeys(keep))
    parts_name = f".{output_path.name}.parts-{time.time_ns()}"
    parts_dir = output_path.parent / parts_name
    started = time.time()
    return ScoringPlan(
        files=files,
        input_sha256=inputs_sha256(files),
        output_path=output_path,
        parts_dir=parts_dir,
        schema=output_schema(files, keep, contract, stamp, interval=interval is not None),
        ranges=cut_ranges(files, batch_rows=batch_rows, partition_rows=partition_rows),
        keep=keep,
        on_invalid=on_invalid,
        batch_rows=batch_rows,
        started=started,
        precision=precision,
        output_url=output_url,
        parts_url=f"{output_url.rsplit('/', 1)[0]}/{parts_name}" if output_url else None,
        as_of=as_of,
        stamp=stamp,
        interval=interval,
    )


def score_partition(package: ModelPackage, plan: ScoringPlan, index: int) -> PartResult:
    """Score range `index` of the plan into its part file (uploaded, for an object-storage output)."""
    folder = plan.parts_folder()
    if folder is None:
        return _score_part(package, plan, index, plan.part_path(index))
    with tempfile.TemporaryDirectory(prefix="regress-part-") as tmp:
        local = Path(tmp) / plan.part_name(index)
        result = _score_part(package, plan, index, local)
        folder.put_file(local, plan.part_name(index))
    return result


def _score_part(package: ModelPackage, plan: ScoringPlan, index: int, path: Path) -> PartResult:
    if plan.stamp is not None and plan.stamp.model_version != package.version:
        raise ValueError(f"a partition stamped {plan.stamp.model_version} is scored with {package.version}")
    with AtomicParquet(path, writer_schema(plan.schema), shown_as=plan.output_path) as out:
        return score_stream(
            package,
            [plan.ranges[index]],
            out.writer,
            keep=plan.keep,
            on_invalid=plan.on_invalid,
            batch_rows=plan.batch_rows,
            schema=plan.schema,
            precision=plan.precision,
            stamp=plan.stamp,
            interval=plan.interval,
        )


def _part_batches(plan: ScoringPlan, index: int) -> Iterator[pa.RecordBatch]:
    folder = plan.parts_folder()
    if folder is None:
        yield from pq.ParquetFile(plan.part_path(index), **READ_OPTIONS).iter_batches()
        return
    with folder.fs.open(f"{folder.path}/{plan.part_name(index)}", "rb") as handle:
        yield from pq.ParquetFile(handle, **READ_OPTIONS).iter_batches()


def combine_partitions(package: ModelPackage, plan: ScoringPlan, results: list[PartResult]) -> ScoreSummary:
    """Concatenate part files in input order into the output, atomically; remove the parts."""
    total = PartResult(drift=results[0].drift)
    for extra in results[1:]:
        total.drift.merge(extra.drift)
    for part in results:
        total.add(part)
    if total.rows_in == 0:
        discard_parts(plan)
        raise DataError(f"no rows to score in {', '.join(plan.files)}")
    upload = RemoteOutput(plan.output_url) if plan.output_url else None
    try:
        summary = _combine_into(package, plan, total, upload.local if upload else plan.output_path)
        if upload is not None:
            summary = upload.publish_summary(summary, plan.started)
    finally:
        discard_parts(plan)
        if upload is not None:
            upload.discard()
    return summary


def _combine_into(package: ModelPackage, plan: ScoringPlan, total: PartResult, output_path: Path) -> ScoreSummary:
    rejected = RejectedRows(output_path)
    try:
        with AtomicParquet(output_path, writer_schema(plan.schema), replaces=(rejected.path,)) as out:
            for index in range(len(plan.ranges)):
                for batch in _part_batches(plan, index):
                    out.writer.write_batch(batch)
            out.metadata = output_metadata(
                package, plan.input_sha256, total.rows_scored, total.precision, plan.as_of, plan.interval
            )
            rejected.write(total.rejected)
    except BaseException:
        rejected.discard()
        raise
    return summarize(
        total,
        output_path=output_path,
        rejected=rejected.publish(),
        files=plan.files,
        package=package,
        input_hash=plan.input_sha256,
        started=plan.started,
        interval=plan.interval,
    )


def discard_parts(plan: ScoringPlan) -> None:
    folder = plan.parts_folder()
    if folder is not None:
        folder.remove(folder.keys())
        return
    shutil.rmtree(plan.parts_dir, ignore_errors=True)
