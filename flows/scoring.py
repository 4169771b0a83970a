"""The batch scoring flow: a model's champion (or a given version) over new rows."""

from __future__ import annotations

from prefect import flow, unmapped

from regress_core.config import ScoringConfig
from regress_core.registry.catalog import ModelRef
from regress_core.scoring.results import ScoreSummary
from tasks.scoring import (
    combine_parts,
    dask_runner,
    discard_partitions,
    plan_partitions,
    preflight,
    report_scoring,
    resolve_model,
    score_input,
    score_one_partition,
)
from tasks.storage import apply_storage_block


@flow(name="batch_scoring", log_prints=True)
def batch_scoring(params: ScoringConfig) -> ScoreSummary:
    """Score a file, folder or glob of rows into one predictions Parquet file."""
    apply_storage_block()
    preflight(params)
    ref = resolve_model(params)
    if params.task_runner == "dask":
        runner = dask_runner(params)  # a TaskRunner of Dask futures; Prefect's hint names the generic base only
        summary = partitioned_scoring.with_options(task_runner=runner)(params, ref)  # type: ignore[arg-type]
    else:
        summary = score_input(params, ref)
    return report_scoring(summary, params.drift_threshold)


@flow(name="partitioned_scoring")
def partitioned_scoring(params: ScoringConfig, ref: ModelRef) -> ScoreSummary:
    """Score each file, or range of row groups of a large Parquet file, as a mapped task; combine the parts in order."""
    plan = plan_partitions(params, ref)
    futures = score_one_partition.map(unmapped(params), unmapped(ref), unmapped(plan), range(len(plan.ranges)))
    try:
        results = [future.result() for future in futures]
    except BaseException:
        discard_partitions(plan)
        raise
    return combine_parts(params, ref, plan, results)
