"""Tasks of the training flow, one per pipeline stage.

A cached stage's task shares its output files with the other machines of a workspace in
object storage before it returns, so its record is stored only after its files.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from regress_core.config import (
    DataConfig,
    FeaturesConfig,
    GateConfig,
    ModelConfig,
    RegressConfig,
    SplitConfig,
    TrainConfig,
)
from regress_core.data.split import STRATEGY_WORDS
from regress_core.errors import DataValidationError, RegressError, StorageError
from regress_core.evaluation.report import (
    describe_budget,
    describe_selection,
    describe_threads,
    metrics_rows,
    selection_rows,
    sized_budget,
)
from regress_core.evaluation.report_markdown import (
    REPORT_URL_ENV,
    read_plot_files,
    read_plots,
    render_markdown,
    report_address,
)
from regress_core.evaluation.report_sections import describe_importance, importance_rows
from regress_core.pipeline import data_stages
from regress_core.pipeline.freshness import NothingNew, find_nothing_new
from regress_core.pipeline.preflight import preflight_training
from regress_core.pipeline.preload import require
from regress_core.pipeline.records import Evaluation, ScaledTables, SplitTables, TableRef, TrainedModel, ValidatedTable
from regress_core.pipeline.shared_cache import share
from regress_core.pipeline.workspace import Workspace
from regress_core.registry.card import save_card, version_card
from regress_core.registry.catalog import ModelRef, Registry, model_name_for
from regress_core.registry.gate import Decision, gate_candidate
from regress_core.registry.signing import unchecked_warning
from regress_core.registry.verification import verify_package
from tasks.events import emit_decision, emit_unchanged, emit_validation_failed
from tasks.locks import promotion_locks
from tasks.runner import flow_run_id, ui_base_url


@task(name="preflight", cache_policy=NO_CACHE)
def preflight(config: RegressConfig) -> None:
    """Refuse a run that would fail late (unwritable or full workspace, damaged registry, bad input) before work."""
    preflight_training(config)


def retry_io_only(task: Any, task_run: Any, state: Any) -> bool:
    """Retry transient I/O failures, never bad input or bad configuration."""
    return not isinstance(state.result(raise_on_failure=False), RegressError)


def run_as_of(as_of: datetime | None) -> datetime:
    """The run's instant: the one given, else the flow run's scheduled start (for a manual run, about now)."""
    if as_of is not None:
        return as_of if as_of.tzinfo else as_of.replace(tzinfo=UTC)
    from prefect.runtime import flow_run

    scheduled = flow_run.scheduled_start_time
    return datetime.fromisoformat(scheduled.isoformat()).astimezone(UTC) if scheduled else datetime.now(UTC)


@task(
    name="ingest",
    cache_key_fn=lambda _, p: data_stages.ingest_key(p["data"], p["as_of"]),
    retries=2,
    retry_delay_seconds=[2, 5],
    retry_condition_fn=retry_io_only,
)
def ingest_data(data: DataConfig, as_of: datetime, *, ws: Workspace) -> TableRef:
    """Snapshot the source table (its rows in the run's time window, when one is set) as Parquet."""
    raw = data_stages.ingest(data, ws, as_of=as_of)
    get_run_logger().info("ingested %d rows from %s (sha256 %s)", raw.rows, data.source, raw.sha256[:12])
    return share(raw, ws)


@task(name="check-new-data", cache_policy=NO_CACHE)
def check_new_data(
    config: RegressConfig, raw: TableRef, as_of: datetime, force: bool, *, ws: Workspace
) -> NothingNew | None:
    """Log the run's as_of and window; stop a windowed run whose rows its champion was already trained on."""
    logger = get_run_logger()
    logger.info("as of %s", as_of.isoformat())
    if raw.window is not None:
        days = raw.window["days"]
        logger.info("window %s: %d rows over %d day(s)", raw.window["window"]["text"], raw.rows, len(days))
        for text in raw.window["warnings"]:
            logger.warning(text)
    nothing_new = None if force else find_nothing_new(config, raw, ws)
    if nothing_new is not None:
        logger.info(nothing_new.summary)
        emit_unchanged(nothing_new, source=config.data.source)
    return nothing_new


@task(name="validate", cache_key_fn=lambda _, p: data_stages.validate_key(p["raw"], p["data"]))
def validate_data(
    raw: TableRef, data: DataConfig, model: str | None, as_of: datetime | None = None, *, ws: Workspace
) -> ValidatedTable:
    """Validate the snapshot against its data contract (Great Expectations); a failure is also an event."""
    try:
        validated = data_stages.validate(raw, data, ws)
    except DataValidationError as exc:
        name = model or model_name_for(exc.contract_name or "dataset")
        emit_validation_failed(name, source=data.source, error=exc, as_of=as_of.isoformat() if as_of else None)
        raise
    if validated.inferred:
        get_run_logger().info("inferred contract (saved as %s): %s", validated.contract_path, validated.inferred)
    create_markdown_artifact(
        f"**Data validation passed**: all {validated.n_expectations} expectations of the contract held "
        f"on {raw.rows} rows.\n\nReport: `{validated.docs_path}`",
        key="data-validation",
        description="Great Expectations result",
    )
    return share(validated, ws)


@task(name="split", cache_key_fn=lambda _, p: data_stages.split_key(p["validated"], p["split_config"]))
def split_data(validated: ValidatedTable, split_config: SplitConfig, *, ws: Workspace) -> SplitTables:
    """Split into train, validation and test Parquet files."""
    splits = data_stages.split(validated, split_config, ws)
    get_run_logger().info(
        "split %d / %d / %d rows (train / validation / test) %s",
        splits.train.rows,
        splits.val.rows,
        splits.test.rows,
        STRATEGY_WORDS[split_config.strategy or "random"],
    )
    return share(splits, ws)


@task(name="scale", cache_key_fn=lambda _, p: data_stages.scale_key(p["splits"], p["validated"], p["features"]))
def scale_features(
    splits: SplitTables, validated: ValidatedTable, features: FeaturesConfig, *, ws: Workspace
) -> ScaledTables:
    """Fit the scaler on train only and scale every part."""
    scaled = data_stages.scale(splits, validated, features, ws)
    if scaled.group_keys:
        get_run_logger().info(
            "group keys, target-encoded as well as scaled: %s (see docs/training.md#group-keys)",
            ", ".join(scaled.group_keys),
        )
    return share(scaled, ws)


# The model stages (torch, scikit-learn) are imported when one runs, not with the flow: the run
# starts and validates its data while a thread imports them (regress_core.pipeline.preload).
def _train_key(_: Any, p: dict[str, Any]) -> str:
    require("regress_core.pipeline.model_stages")
    from regress_core.pipeline import model_stages

    return model_stages.train_key(p["scaled"], p["model"], p["train_config"])


def _evaluate_key(_: Any, p: dict[str, Any]) -> str:
    require("regress_core.pipeline.model_stages")
    from regress_core.pipeline import model_stages

    return model_stages.evaluate_key(p["trained"], p["scaled"], p["splits"], level=p["level"])


@task(name="train", cache_key_fn=_train_key)
def train_model(scaled: ScaledTables, model: ModelConfig, train_config: TrainConfig, *, ws: Workspace) -> TrainedModel:
    """Train the PyTorch model with early stopping on validation."""
    require("regress_core.pipeline.model_stages")
    from regress_core.pipeline import model_stages

    logger = get_run_logger()

    def log_epoch(record: Any) -> None:
        logger.info(
            "epoch %d: train loss %.5f, validation MSE %.5f, lr %.2e",
            record.epoch,
            record.train_loss,
            record.val_loss,
            record.lr,
        )

    trained = model_stages.train(scaled, model, train_config, ws, on_epoch=log_epoch, progress=sys.stderr.isatty())
    selection = trained.summary.get("selection")
    if selection:
        logger.info("model selection: %s", describe_selection(selection))
        budget = sized_budget(selection)
        if budget is not None:
            logger.info("sized to the table: %s", describe_budget(budget))
        create_table_artifact(
            selection_rows(selection),
            key="model-selection",
            description=f"Candidates compared on {selection.get('scheme')} (validation RMSE, target units)",
        )
    if trained.summary["epochs"]:
        details = ", ".join(filter(None, [trained.summary["precision"], describe_threads(trained.summary)]))
        logger.info(
            "trained %d epochs in %.1f s on %s (%s); best epoch %d",
            trained.summary["epochs"],
            trained.summary["seconds"],
            trained.summary["device"],
            details,
            trained.summary["best_epoch"],
        )
    else:
        logger.info("fitted in closed form in %.1f s on %s", trained.summary["seconds"], trained.summary["device"])
    return share(trained, ws)


@task(
    name="evaluate",
    cache_key_fn=_evaluate_key,
)
def evaluate_model(
    trained: TrainedModel,
    scaled: ScaledTables,
    splits: SplitTables,
    validated: ValidatedTable,
    level: float,
    *,
    ws: Workspace,
) -> Evaluation:
    """Score the test rows; compare with baselines; calibrate the prediction intervals at `level`."""
    require("regress_core.pipeline.model_stages")
    from regress_core.pipeline import model_stages

    evaluation = model_stages.evaluate(trained, scaled, splits, validated, ws, level=level)
    rows = metrics_rows({"metrics": evaluation.metrics, "baselines": evaluation.baselines})
    create_table_artifact(
        [{"model": name, **{key: round(value, 4) for key, value in values.items()}} for name, values in rows],
        key="test-metrics",
        description="Test metrics in target units, next to baselines fitted on the same rows",
    )
    if evaluation.importance:
        create_table_artifact(
            importance_rows(evaluation.importance),
            key="feature-importance",
            description=describe_importance(evaluation.importance),
        )
    return share(evaluation, ws)


@task(name="publish")
def publish_model(
    config: RegressConfig,
    validated: ValidatedTable,
    splits: SplitTables,
    scaled: ScaledTables,
    trained: TrainedModel,
    evaluation: Evaluation,
    as_of: datetime | None = None,
    *,
    ws: Workspace,
) -> ModelRef:
    """Publish the model package as a new version of its named model."""
    require("regress_core.pipeline.model_stages")
    from regress_core.pipeline import model_stages

    stages = (validated, splits, scaled, trained, evaluation)
    ref, new = model_stages.publish(config, *stages, ws, run=flow_run_id(), locks=promotion_locks(ws), as_of=as_of)
    model = Registry(ws.registry_dir).model(ref.model)
    if ws.url:
        report: Path | str = f"{model.root}/versions/{ref.version}/report.html"
        plots = read_plot_files(dict(evaluation.plots))  # the files the package holds, without downloading it
    else:
        report = model.version_dir(ref.version) / "report.html"
        plots = read_plots(report.parent / "plots")
    # The report server of `regress ui start` serves its own workspace's registry only.
    served = os.environ.get(REPORT_URL_ENV) if ws.url is None and ws == Workspace.at() else None
    address = report_address(report, model=ref.model, version=ref.version, server_url=served)
    create_link_artifact(address, link_text=f"Report of model {ref}", key="model-report-link")
    create_markdown_artifact(
        render_markdown(model.metadata(ref.version), reference=str(ref), plots=plots, report_url=served and address),
        key="model-report",
        description=f"Test metrics and plots of model {ref}",
    )
    if new:
        get_run_logger().info("published model %s (%s)", ref, address)
    else:
        get_run_logger().info("identical to published model %s; not published again", ref)
    return ref


@task(name="gate")
def gate_model(
    published: ModelRef, splits: SplitTables, gate: GateConfig, as_of: datetime | None = None, *, ws: Workspace
) -> Decision:
    """Apply the promotion gate and switch the model's champion if the candidate earns it."""
    model = Registry(ws.registry_dir, locks=promotion_locks(ws)).model(published.model)
    decision = gate_candidate(
        model,
        version=published.version,
        test_df=splits.test.read(),
        gate=gate,
        run=flow_run_id(),
        as_of=as_of.isoformat() if as_of else None,
    )
    create_markdown_artifact(
        decision.as_markdown(), key="promotion-decision", description=f"Promotion decision for {published.model}"
    )
    comparison = decision.comparison
    if comparison is not None:
        rows = [
            (f"candidate {published.version}", comparison.candidate),
            (f"champion {decision.champion}", comparison.champion),
        ]
        create_table_artifact(
            [{"model": name, **{key: round(value, 4) for key, value in values.items()}} for name, values in rows],
            key="champion-comparison",
            description=f"Candidate and champion on {comparison.note}; {comparison.interval_text}",
        )
    logger = get_run_logger()
    logger.info(decision.summary)
    emit_decision(decision, as_of=as_of.isoformat() if as_of else None)
    signature = verify_package(model, published.version)[1]
    if decision.promote:
        warning = unchecked_warning(str(published), signature)
        if warning:
            logger.warning(warning)
    try:  # the card is a reader's summary: a registry that refuses it fails nothing
        card = version_card(model, published.version, signature=signature, ui_url=ui_base_url())
        logger.info("model card of %s: %s", published, save_card(model, published.version, card))
    except StorageError as exc:
        logger.warning("the model card of %s was not saved: %s", published, exc)
    return decision
