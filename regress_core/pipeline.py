"""The whole training pipeline as plain function calls, for notebooks, scripts and tests.

The Prefect flow composes the same stages as tasks (with caching, logs and artifacts);
this runs them in order in one process, with no orchestrator.
"""

from __future__ import annotations

from regress_core import stages
from regress_core.config import RegressConfig
from regress_core.gate import Decision, gate_candidate
from regress_core.registry import Registry
from regress_core.workspace import Workspace


def train_pipeline(config: RegressConfig) -> tuple[str, Decision]:
    """Ingest, validate, split, scale, train, evaluate, publish and gate; return version and decision."""
    ws = Workspace.at(config.registry.home)
    raw = stages.ingest(config.data, ws)
    validated = stages.validate(raw, config.data, ws)
    splits = stages.split(validated, config.split, ws)
    scaled = stages.scale(splits, validated, config.features, ws)
    trained = stages.train(scaled, config.model, config.train, ws)
    evaluation = stages.evaluate(trained, scaled, splits, validated, ws)
    version, _ = stages.publish(config, validated, splits, scaled, trained, evaluation, ws)
    decision = gate_candidate(Registry(ws.registry_dir), version=version, test_df=splits.test.read(), gate=config.gate)
    return version, decision
