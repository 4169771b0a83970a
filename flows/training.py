"""The training flow: ingest, validate, split, scale, train, evaluate, publish, gate."""

from __future__ import annotations

from datetime import datetime

from prefect import flow

from regress_core.config import RegressConfig
from regress_core.pipeline.freshness import NothingNew
from regress_core.pipeline.records import TrainingOutcome
from regress_core.pipeline.workspace import Workspace
from tasks.database import apply_database_secret
from tasks.runner import StageRunner
from tasks.storage import apply_storage_block
from tasks.training import (
    check_new_data,
    evaluate_model,
    gate_model,
    ingest_data,
    preflight,
    publish_model,
    run_as_of,
    scale_features,
    split_data,
    train_model,
    validate_data,
)

DEFAULT_CONFIG = RegressConfig()


@flow(name="training", log_prints=True)
def training(
    config: RegressConfig = DEFAULT_CONFIG,
    refresh_cache: bool = False,
    as_of: datetime | None = None,
    force: bool = False,
) -> TrainingOutcome | NothingNew:
    """Train, evaluate and publish a regression model; promote it if it passes the gate.

    `as_of` (default: the run's scheduled start) ends a configured time window; a windowed run
    whose rows its champion was trained on stops after ingest unless `force` is set.
    """
    # The UI form and API callers send fields left empty as None; fill them from the preset
    # before any stage keys its cache on them. Idempotent for build_config's result.
    apply_storage_block()
    config = config.resolved()
    apply_database_secret(config.data.secret_block)
    preflight(config)
    as_of = run_as_of(as_of)
    stage = StageRunner(Workspace.at(config.registry.home), refresh=refresh_cache)
    raw = stage(ingest_data, config.data, as_of)
    nothing_new = stage(check_new_data, config, raw, as_of, force)
    if nothing_new is not None:
        return nothing_new
    validated = stage(validate_data, raw, config.data, config.registry.model, as_of)
    splits = stage(split_data, validated, config.split)
    scaled = stage(scale_features, splits, validated, config.features)
    trained = stage(train_model, scaled, config.model, config.train)
    evaluation = stage(evaluate_model, trained, scaled, splits, validated, config.model.interval)
    published = stage(publish_model, config, validated, splits, scaled, trained, evaluation, as_of)
    decision = stage(gate_model, published, splits, config.gate, as_of)
    return TrainingOutcome(
        model=published.model,
        version=published.version,
        metrics=evaluation.metrics,
        baselines=evaluation.baselines,
        decision=decision,
        cached=stage.cached,
        stage_seconds=stage.seconds,
        home=str(stage.ws.root),
        contract_path=validated.contract_path,
        inferred_contract=validated.inferred,
        selection=trained.summary.get("selection"),
        as_of=as_of.isoformat(),
        window=raw.window,
    )
