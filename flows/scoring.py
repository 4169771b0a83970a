"""The batch scoring flow: a model's champion (or a given version) over one day's new rows."""

from __future__ import annotations

from datetime import date, datetime

from prefect import flow, unmapped

from regress_core.config import ScoringConfig
from regress_core.registry.catalog import ModelRef
from regress_core.scoring.dated import for_day, scoring_day
from regress_core.scoring.results import ScoreSummary, ScoringSkipped
from tasks.scoring import (
    check_interval,
    check_scored,
    combine_parts,
    dask_runner,
    discard_partitions,
    find_input,
    plan_partitions,
    preflight,
    report_scoring,
    resolve_model,
    score_input,
    score_one_partition,
)
from tasks.storage import apply_storage_block
from tasks.training import run_as_of


@flow(name="batch_scoring", log_prints=True)
def batch_scoring(params: ScoringConfig, as_of: datetime | None = None) -> ScoreSummary | ScoringSkipped:
    """Score a day's file, folder or glob of rows into one predictions Parquet file.

    `as_of` (default: the run's scheduled start; now for a manual run) names the day: `{as_of}`
    in the input and output. The model version, and the level of `params.interval` (`lower` and
    `upper` columns), are resolved once, before any row is read.
    """
    apply_storage_block()
    day = scoring_day(run_as_of(as_of))
    skipped = find_input(params, day)
    if skipped is not None:
        return skipped
    params = for_day(params, day)
    preflight(params)
    ref = resolve_model(params)
    interval = check_interval(params, ref) if params.interval is not None else None
    ledger = check_scored(params, ref, day, interval) if params.skip_scored else None
    if ledger is not None and ledger.skipped is not None:
        return ledger.skipped
    if params.task_runner == "dask":
        runner = dask_runner(params)  # a TaskRunner of Dask futures; Prefect's hint names the generic base only
        summary = partitioned_scoring.with_options(task_runner=runner)(params, ref, day, interval)  # type: ignore[arg-type]
    else:
        summary = score_input(params, ref, day, ledger.input_sha256 if ledger else None, interval)
    return report_scoring(summary, params, day)


@flow(name="partitioned_scoring")
def partitioned_scoring(params: ScoringConfig, ref: ModelRef, day: date, interval: float | None = None) -> ScoreSummary:
    """Score each file, or range of row groups of a large Parquet file, as a mapped task; combine the parts in order."""
    plan = plan_partitions(params, ref, day, interval)
    futures = score_one_partition.map(unmapped(params), unmapped(ref), unmapped(plan), range(len(plan.ranges)))
    try:
        results = [future.result() for future in futures]
    except BaseException:
        discard_partitions(plan)
        raise
    return combine_parts(params, ref, plan, results)
