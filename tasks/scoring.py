"""Tasks of the batch scoring flow."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from regress_core.config import ScoringConfig
from regress_core.data.contract import load_contract
from regress_core.pipeline.workspace import Workspace
from regress_core.registry.package import CONTRACT, ModelPackage, load_package_once, resolve_version
from regress_core.registry.store import Registry
from regress_core.scoring.partitions import (
    ScoringPlan,
    combine_partitions,
    discard_parts,
    plan_scoring,
    score_partition,
)
from regress_core.scoring.streaming import PartResult, ScoreSummary, score

if TYPE_CHECKING:
    from prefect_dask import DaskTaskRunner


def _registry(params: ScoringConfig) -> Registry:
    return Registry(Workspace.at(params.home).registry_dir)


def _package(params: ScoringConfig, version: str) -> ModelPackage:
    return load_package_once(_registry(params), version)


@task(name="resolve-model", cache_policy=NO_CACHE)
def resolve_model(params: ScoringConfig) -> str:
    """Turn "champion" or a version name into a version name; loading the package verifies it."""
    return resolve_version(_registry(params), params.model)


@task(name="score", cache_policy=NO_CACHE)
def score_input(params: ScoringConfig, version: str) -> ScoreSummary:
    """Stream the input through the model into the output file."""
    return score(
        _package(params, version),
        input_location=params.input,
        output=params.output,
        keep=params.keep,
        on_invalid=params.on_invalid,
        batch_rows=params.batch_rows,
    )


@task(name="plan-partitions", cache_policy=NO_CACHE)
def plan_partitions(params: ScoringConfig, version: str) -> ScoringPlan:
    """One partition per input file, for a verified package (the model itself loads in the partitions)."""
    registry = _registry(params)
    package_dir = registry.verify(version)
    plan = plan_scoring(
        input_location=params.input,
        output=params.output,
        keep=params.keep,
        contract=load_contract(package_dir / CONTRACT),
        on_invalid=params.on_invalid,
        batch_rows=params.batch_rows,
    )
    get_run_logger().info("scoring %d partitions", len(plan.files))
    return plan


@task(name="score-partition", cache_policy=NO_CACHE)
def score_one_partition(params: ScoringConfig, version: str, plan: ScoringPlan, index: int) -> PartResult:
    """Score one input file into its part file."""
    return score_partition(_package(params, version), plan, index)


@task(name="combine-partitions", cache_policy=NO_CACHE)
def combine_parts(params: ScoringConfig, version: str, plan: ScoringPlan, results: list[PartResult]) -> ScoreSummary:
    """Concatenate the parts in input order into the output file."""
    return combine_partitions(_package(params, version), plan, results)


@task(name="discard-partitions", cache_policy=NO_CACHE)
def discard_partitions(plan: ScoringPlan) -> None:
    """Remove part files of a failed job."""
    discard_parts(plan)


@task(name="report-scoring", cache_policy=NO_CACHE)
def report_scoring(summary: ScoreSummary, drift_threshold: float) -> ScoreSummary:
    """Publish counts, the model version and the drift summary; warn on drift."""
    logger = get_run_logger()
    drifted = {name: value for name, value in summary.psi.items() if value > drift_threshold}
    for name, value in drifted.items():
        logger.warning("drift: feature %s has PSI %.3f (threshold %.2f)", name, value, drift_threshold)
    create_markdown_artifact(
        f"**Scored {summary.rows_scored} of {summary.rows_in} rows** with model {summary.model_version} "
        f"({summary.rows_rejected} rejected) in {summary.seconds:.1f} s.\n\n"
        f"Output: `{summary.output_path}`"
        + (f"\n\nRejected rows: `{summary.rejected_path}`" if summary.rejected_path else ""),
        key="scoring-summary",
        description="Batch scoring counts",
    )
    create_table_artifact(
        [
            {"feature": name, "psi": round(value, 4), "drift": "yes" if name in drifted else "no"}
            for name, value in summary.psi.items()
        ],
        key="scoring-drift",
        description=(
            f"Population stability index per feature against the training rows (warning above {drift_threshold})"
        ),
    )
    logger.info(
        "scored %d rows (%d rejected) with %s into %s",
        summary.rows_scored,
        summary.rows_rejected,
        summary.model_version,
        summary.output_path,
    )
    return summary


def dask_runner(params: ScoringConfig) -> DaskTaskRunner:
    """A Dask task runner on the given scheduler, or on a local cluster of processes."""
    from prefect_dask import DaskTaskRunner

    if params.dask_address:
        return DaskTaskRunner(address=params.dask_address)
    return DaskTaskRunner(
        cluster_kwargs={
            "n_workers": params.dask_workers,
            "threads_per_worker": 1,
            "processes": True,
            "dashboard_address": None,
        }
    )
