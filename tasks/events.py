"""Prefect events a team can act on: a model promoted, a promotion refused, data that failed validation,
a window with nothing new to train on, drift in a scoring job's input, an error against late actuals that
has grown past the tolerance (monitoring).

Each event's resource is the named model (`regress.model.<name>`); the version, where there
is one, is a related resource with the role `model-version`. Inside a run Prefect also relates
the flow run, flow and deployment. `automations/model-events.yaml` turns them into
notifications. Events of a training run carry its `as_of` in their payload.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from prefect.events import emit_event

if TYPE_CHECKING:  # a flow that only emits (monitoring) need not import the training stack
    from regress_core.errors import DataValidationError
    from regress_core.pipeline.freshness import NothingNew
    from regress_core.registry.gate import Decision
    from regress_core.scoring.results import ScoreSummary

PROMOTED = "regress.model.promoted"
REFUSED = "regress.model.promotion-refused"
VALIDATION_FAILED = "regress.data.validation-failed"
UNCHANGED = "regress.data.unchanged"
DRIFT = "regress.data.drift"
DEGRADED = "regress.model.performance-degraded"  # monitoring: the window's error passed the tolerance


def model_resource(model: str) -> dict[str, str]:
    return {"prefect.resource.id": f"regress.model.{model}", "prefect.resource.name": model, "regress.model": model}


def version_resource(model: str, version: str) -> dict[str, str]:
    return {
        "prefect.resource.id": f"regress.model-version.{model}.{version}",
        "prefect.resource.role": "model-version",
        "prefect.resource.name": f"{model}@{version}",
        "regress.version": version,
    }


def emit_model_event(event: str, model: str, version: str | None, payload: dict[str, Any]) -> None:
    emit_event(
        event=event,
        resource=model_resource(model),
        related=[version_resource(model, version)] if version else [],
        payload=payload,
    )


def emit_decision(decision: Decision, *, as_of: str | None = None) -> None:
    """`regress.model.promoted` or `regress.model.promotion-refused`; nothing when it is already the champion."""
    if decision.champion == decision.version or decision.model is None:
        return
    payload: dict[str, Any] = {
        "summary": decision.summary,
        "as_of": as_of,
        "previous_champion": decision.champion,
        "metrics": decision.metrics,
        "checks": [{"name": check.name, "passed": check.passed, "text": check.text} for check in decision.checks],
        "failed_checks": decision.failed,
    }
    if decision.comparison is not None:
        payload["comparison"] = {
            "rows": decision.comparison.rows,
            "difference": decision.comparison.difference,
            "interval": list(decision.comparison.interval),
        }
    emit_model_event(PROMOTED if decision.promote else REFUSED, decision.model, decision.version, payload)


def emit_champion_change(entry: dict[str, Any]) -> None:
    """A manual promotion or rollback is a promotion too, with its action and reason."""
    payload = {"summary": f"{entry['action']}: {entry['reason']}", "previous_champion": entry["previous"], **entry}
    emit_model_event(PROMOTED, entry["model"], entry["version"], payload)


def emit_validation_failed(model: str, *, source: str, error: DataValidationError, as_of: str | None = None) -> None:
    emit_model_event(VALIDATION_FAILED, model, None, {"source": source, "error": str(error), "as_of": as_of})


def emit_unchanged(nothing_new: NothingNew, *, source: str) -> None:
    """`regress.data.unchanged`: the run's window holds the rows its champion was trained on."""
    payload = {"summary": nothing_new.summary, "source": source, "rows": nothing_new.rows, "as_of": nothing_new.as_of}
    emit_model_event(UNCHANGED, nothing_new.model, nothing_new.version, payload)


def emit_drift(summary: ScoreSummary, drifted: dict[str, float], *, threshold: float, as_of: str | None) -> None:
    """`regress.data.drift`: features of a scoring job's input whose PSI passed the threshold."""
    names = ", ".join(f"{name} (PSI {value:.2f})" for name, value in drifted.items())
    payload = {
        "summary": f"drift in {names} scoring {summary.output_path}",
        "features": drifted,
        "threshold": threshold,
        "as_of": as_of,
        "model": summary.model,
        "model_version": summary.model_version,
        "rows": summary.rows_scored,
        "output": summary.output_path,
    }
    emit_model_event(DRIFT, summary.model, summary.model_version, payload)
