"""The whole training pipeline as plain function calls, for notebooks, scripts and tests.

The Prefect flow composes the same stages as tasks (with caching, logs and artifacts);
this runs them in order in one process, with no orchestrator.
"""

from __future__ import annotations

from datetime import UTC, datetime

from regress_core.config import RegressConfig
from regress_core.pipeline import data_stages, model_stages
from regress_core.pipeline.preflight import preflight_training
from regress_core.pipeline.workspace import Workspace
from regress_core.registry.catalog import LockProvider, ModelRef, Registry
from regress_core.registry.gate import Decision, gate_candidate


def train_pipeline(
    config: RegressConfig, *, locks: LockProvider | None = None, as_of: datetime | None = None
) -> tuple[ModelRef, Decision]:
    """Ingest, validate, split, scale, train, evaluate, publish and gate; return the version and decision.

    `locks` hands out the promotion lock; a workspace in object storage needs one that every
    machine sharing it respects (a local folder uses a file lock). `as_of` (default now) ends
    a configured time window.
    """
    as_of = as_of or datetime.now(UTC)
    config = config.resolved()  # a no-op for build_config's result; fills a hand-made config's preset fields
    preflight_training(config)
    ws = Workspace.at(config.registry.home)
    raw = data_stages.ingest(config.data, ws, as_of=as_of)
    validated = data_stages.validate(raw, config.data, ws)
    splits = data_stages.split(validated, config.split, ws)
    scaled = data_stages.scale(splits, validated, config.features, ws)
    trained = model_stages.train(scaled, config.model, config.train, ws)
    evaluation = model_stages.evaluate(trained, scaled, splits, validated, ws, level=config.model.interval)
    ref, _ = model_stages.publish(config, validated, splits, scaled, trained, evaluation, ws, locks=locks, as_of=as_of)
    registry = Registry(ws.registry_dir, locks=locks).model(ref.model)
    decision = gate_candidate(registry, version=ref.version, test_df=splits.test.read(), gate=config.gate)
    return ref, decision
