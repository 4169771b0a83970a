"""Tasks of the batch scoring flow."""

from __future__ import annotations

import socket
import sys
from datetime import date
from typing import TYPE_CHECKING

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from regress_core.config import ScoringConfig
from regress_core.data.contract import load_contract
from regress_core.errors import ConfigError, StorageError
from regress_core.pipeline.preflight import preflight_scoring
from regress_core.pipeline.workspace import Workspace
from regress_core.registry.catalog import ModelRef, Registry
from regress_core.registry.package import CONTRACT, ModelPackage, load_package_once
from regress_core.registry.registered_model import RegisteredModel
from regress_core.registry.signing import describe_signature, unchecked_warning
from regress_core.registry.verification import verify_package
from regress_core.scoring.batches import expand_inputs
from regress_core.scoring.dated import check_input
from regress_core.scoring.intervals import interval_level
from regress_core.scoring.ledger import LEDGER_FOLDER, LedgerCheck, ScoringLedger, check_ledger, entry_for
from regress_core.scoring.outputs import Stamp
from regress_core.scoring.partitions import (
    ScoringPlan,
    combine_partitions,
    discard_parts,
    plan_scoring,
    score_partition,
)
from regress_core.scoring.results import PartResult, ScoreSummary, ScoringSkipped
from regress_core.scoring.streaming import score
from tasks.events import emit_drift

if TYPE_CHECKING:
    from prefect_dask import DaskTaskRunner

# Connecting to a scheduler takes milliseconds; one that does not answer in this long is not there.
SCHEDULER_TIMEOUT_S = 10


def _registry(params: ScoringConfig, ref: ModelRef) -> RegisteredModel:
    return Registry(Workspace.at(params.home).registry_dir).model(ref.model)


def _package(params: ScoringConfig, ref: ModelRef) -> ModelPackage:
    return load_package_once(_registry(params, ref), ref.version)


def _ledger(params: ScoringConfig) -> ScoringLedger:
    return ScoringLedger(Workspace.at(params.home).root / LEDGER_FOLDER)


def _warn_unchecked(ref: ModelRef, signature: str) -> None:
    """Log, once per job (where the package is first verified), that its signature was not checked."""
    warning = unchecked_warning(str(ref), signature)
    if warning:
        get_run_logger().warning(warning)


@task(name="find-input", cache_policy=NO_CACHE)
def find_input(params: ScoringConfig, day: date) -> ScoringSkipped | None:
    """Nothing when the day's input has arrived; else a skip (`if_missing="skip"`) or a DataError."""
    skipped = check_input(params, day)
    if skipped is not None:
        get_run_logger().info(skipped.message)
    return skipped


@task(name="check-ledger", cache_policy=NO_CACHE)
def check_scored(params: ScoringConfig, ref: ModelRef, day: date, interval: float | None = None) -> LedgerCheck:
    """Hash the input; a skip when the ledger shows this day scored into this output by this version from it."""
    check = check_ledger(
        _ledger(params),
        output=params.output,
        model=ref.model,
        model_version=ref.version,
        day=day,
        files=expand_inputs(params.input),
        interval=interval,
    )
    if check.skipped is not None:
        get_run_logger().info(check.skipped.message)
    return check


@task(name="preflight", cache_policy=NO_CACHE)
def preflight(params: ScoringConfig) -> None:
    """Refuse an off-limits or unwritable output, or inputs that are not tables, before anything is scored."""
    preflight_scoring(params, expand_inputs(params.input))


@task(name="resolve-model", cache_policy=NO_CACHE)
def resolve_model(params: ScoringConfig) -> ModelRef:
    """Turn the model reference (a name, name@version, or champion) into a version; loading verifies it."""
    _, ref = Registry(Workspace.at(params.home).registry_dir).resolve(params.model)
    get_run_logger().info("scoring with model %s", ref)
    return ref


@task(name="check-interval", cache_policy=NO_CACHE)
def check_interval(params: ScoringConfig, ref: ModelRef) -> float | None:
    """The level of the job's intervals; a level the version cannot give is refused before any input is read."""
    level = interval_level(_package(params, ref), params.interval)
    if level is not None:
        get_run_logger().info("prediction intervals at level %g", level)
    return level


@task(name="score", cache_policy=NO_CACHE)
def score_input(
    params: ScoringConfig, ref: ModelRef, day: date, input_hash: str | None = None, interval: float | None = None
) -> ScoreSummary:
    """Stream the input through the model (the version resolved at the start) into the output file."""
    package = _package(params, ref)
    _warn_unchecked(ref, package.signature)
    return score(
        package,
        input_location=params.input,
        output=params.output,
        keep=params.keep,
        on_invalid=params.on_invalid,
        batch_rows=params.batch_rows,
        precision=params.precision,
        partition_rows=params.partition_rows,
        progress=sys.stderr.isatty(),  # a progress bar on a terminal, none in logs
        as_of=day,
        stamp=params.stamp,
        input_sha256=input_hash,
        interval=interval,
    )


@task(name="plan-partitions", cache_policy=NO_CACHE)
def plan_partitions(params: ScoringConfig, ref: ModelRef, day: date, interval: float | None = None) -> ScoringPlan:
    """One partition per file or range of row groups, for a verified package (the model loads in the partitions)."""
    package_dir, signature = verify_package(_registry(params, ref), ref.version)
    _warn_unchecked(ref, signature)
    plan = plan_scoring(
        input_location=params.input,
        output=params.output,
        keep=params.keep,
        contract=load_contract(package_dir / CONTRACT),
        on_invalid=params.on_invalid,
        batch_rows=params.batch_rows,
        precision=params.precision,
        partition_rows=params.partition_rows,
        as_of=day,
        stamp=Stamp(ref.model, ref.version, day) if params.stamp else None,
        interval=interval,
    )
    get_run_logger().info("scoring %d partitions of %d file(s)", len(plan.ranges), len(plan.files))
    return plan


@task(name="score-partition", cache_policy=NO_CACHE)
def score_one_partition(params: ScoringConfig, ref: ModelRef, plan: ScoringPlan, index: int) -> PartResult:
    """Score one file or range of row groups into its part file."""
    return score_partition(_package(params, ref), plan, index)


@task(name="combine-partitions", cache_policy=NO_CACHE)
def combine_parts(params: ScoringConfig, ref: ModelRef, plan: ScoringPlan, results: list[PartResult]) -> ScoreSummary:
    """Concatenate the parts in input order into the output file."""
    return combine_partitions(_package(params, ref), plan, results)


@task(name="discard-partitions", cache_policy=NO_CACHE)
def discard_partitions(plan: ScoringPlan) -> None:
    """Remove part files of a failed job."""
    discard_parts(plan)


@task(name="report-scoring", cache_policy=NO_CACHE)
def report_scoring(summary: ScoreSummary, params: ScoringConfig, day: date) -> ScoreSummary:
    """Record the job in the scoring ledger; publish counts, the version and drift; emit `regress.data.drift`."""
    logger = get_run_logger()
    try:
        _ledger(params).record(entry_for(summary, day))
    except (StorageError, OSError) as exc:  # a read-only workspace still scores; only the ledger misses the job
        logger.warning(
            "the predictions are written, but the scoring ledger could not record them (%s): "
            "--skip-scored will score %s again",
            exc,
            day.isoformat(),
        )
    drift_threshold = params.drift_threshold
    drifted = summary.drifted(drift_threshold)
    for name, value in drifted.items():
        logger.warning("drift: feature %s has PSI %.3f (threshold %.2f)", name, value, drift_threshold)
    if drifted:
        emit_drift(summary, drifted, threshold=drift_threshold, as_of=day.isoformat())
    create_markdown_artifact(
        f"**Scored {summary.rows_scored} of {summary.rows_in} rows** with model "
        f"{summary.model}@{summary.model_version} ({summary.rows_rejected} rejected) in {summary.seconds:.1f} s.\n\n"
        + (f"Model: {describe_signature(summary.signature)}.\n\n" if summary.signature else "")
        + (
            f"Prediction intervals at level {summary.interval:g}: `lower` and `upper` columns.\n\n"
            if summary.interval is not None
            else ""
        )
        + f"Output: `{summary.output_path}`"
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
        "scored %d rows (%d rejected) with %s@%s into %s%s",
        summary.rows_scored,
        summary.rows_rejected,
        summary.model,
        summary.model_version,
        summary.output_path,
        f" with intervals at level {summary.interval:g}" if summary.interval is not None else "",
    )
    return summary


def check_scheduler(address: str, timeout_s: float = SCHEDULER_TIMEOUT_S) -> None:
    """Refuse a Dask scheduler that cannot be reached, within seconds rather than Dask's 30."""
    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        protocol, location = parse_address(address)
        host, port = parse_host_port(location) if protocol in ("tcp", "tls") else (None, None)
    except ValueError as exc:
        raise ConfigError(f"invalid Dask scheduler address {address!r}: {exc}") from exc
    hint = "check --dask-address, or leave it out to score on a local cluster"
    if host is not None:
        try:  # a refused or unroutable address fails here at once
            socket.create_connection((host, port), timeout=timeout_s).close()
        except OSError as exc:
            reason = exc.strerror or str(exc) or "timed out"
            raise ConfigError(f"cannot reach the Dask scheduler at {address} ({reason}); {hint}") from exc
    from distributed import Client

    try:
        with Client(address, timeout=timeout_s, set_as_default=False):
            pass
    except Exception as exc:  # something answers there, but not a Dask scheduler (any error, even MemoryError)
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"no Dask scheduler answers at {address} ({reason}); {hint}") from exc


def dask_runner(params: ScoringConfig) -> DaskTaskRunner:
    """A Dask task runner on the given scheduler, or on a local cluster of processes."""
    from prefect_dask import DaskTaskRunner

    if params.dask_address:
        check_scheduler(params.dask_address)
        return DaskTaskRunner(address=params.dask_address, client_kwargs={"timeout": SCHEDULER_TIMEOUT_S})
    return DaskTaskRunner(
        cluster_kwargs={
            "n_workers": params.dask_workers,
            "threads_per_worker": 1,
            "processes": True,
            "dashboard_address": None,
        }
    )
