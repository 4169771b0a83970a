"""The promotion gate: thresholds from configuration and a fair comparison with the champion."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from regress_core.config import GateConfig
from regress_core.errors import RegistryError, RegressError
from regress_core.evaluation.metrics import regression_metrics
from regress_core.failpoints import failpoint
from regress_core.registry.package import load_package
from regress_core.registry.store import Registry


@dataclass(frozen=True)
class Check:
    """One gate check: a value, its threshold and whether it passed, in plain words."""

    name: str
    value: float | None
    threshold: float | None
    passed: bool
    text: str


@dataclass
class Decision:
    """Whether a candidate becomes champion, and every check behind it."""

    version: str
    promote: bool
    bootstrap: bool
    champion: str | None
    checks: list[Check] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    champion_metrics: dict[str, float] | None = None

    @property
    def summary(self) -> str:
        failed = [check.name for check in self.checks if not check.passed]
        if self.champion == self.version:
            return f"{self.version} is already the champion; nothing changed"
        if self.promote and self.bootstrap:
            return f"{self.version} promoted: first champion (bootstrap), all thresholds passed"
        if self.promote:
            return f"{self.version} promoted over {self.champion}: all checks passed"
        return f"{self.version} not promoted: failed {', '.join(failed)}"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "summary": self.summary}


def _linear_check(metrics: dict[str, float], baseline: dict[str, float], tolerance: float) -> Check:
    """The candidate against a straight line: LinearRegression fitted on the same training rows."""
    limit = baseline["rmse"] * (1 + tolerance)
    ok = metrics["rmse"] <= limit
    allowance = f" plus the {tolerance:.1%} tolerance" if tolerance else ""
    if ok:
        text = (
            f"test RMSE {metrics['rmse']:.4f} <= LinearRegression's {baseline['rmse']:.4f} on the same rows{allowance}"
        )
    else:
        text = (
            f"test RMSE {metrics['rmse']:.4f} is worse than LinearRegression's {baseline['rmse']:.4f} on the same "
            f"rows{allowance} (limit {limit:.4f}): a straight line fits this table better"
        )
    return Check("linear_baseline", metrics["rmse"], limit, ok, text)


def _threshold_checks(
    metrics: dict[str, float], gate: GateConfig, baselines: dict[str, dict[str, float]] | None = None
) -> list[Check]:
    checks = []
    if gate.r2_min is not None:
        ok = metrics["r2"] >= gate.r2_min
        checks.append(
            Check(
                "r2_min",
                metrics["r2"],
                gate.r2_min,
                ok,
                f"test R2 {metrics['r2']:.4f} {'>=' if ok else '<'} minimum {gate.r2_min:.4f}",
            )
        )
    for key, limit in (("rmse", gate.rmse_max), ("mae", gate.mae_max)):
        if limit is not None:
            ok = metrics[key] <= limit
            text = f"test {key.upper()} {metrics[key]:.4f} {'<=' if ok else '>'} maximum {limit:.4f}"
            checks.append(Check(f"{key}_max", metrics[key], limit, ok, text))
    linear = (baselines or {}).get("linear_regression")
    if gate.linear_tolerance is not None and linear is not None:  # packages record it; bare metrics may not
        checks.append(_linear_check(metrics, linear, gate.linear_tolerance))
    return checks


def decide(
    *,
    version: str,
    metrics: dict[str, float],
    gate: GateConfig,
    champion: str | None,
    champion_metrics: dict[str, float] | None,
    champion_error: str | None = None,
    baselines: dict[str, dict[str, float]] | None = None,
) -> Decision:
    """Apply the thresholds and the champion comparison to a candidate's test metrics.

    Args:
        version: The candidate version.
        metrics: Candidate test metrics in target units.
        gate: Thresholds and tolerance.
        champion: Current champion version, None before the first promotion.
        champion_metrics: The champion re-scored on the candidate's test rows.
        champion_error: Why the champion could not be re-scored, if it could not.
        baselines: Baseline metrics on the same test rows (`linear_regression` is checked).
    """
    checks = _threshold_checks(metrics, gate, baselines)
    bootstrap = champion is None
    if bootstrap:
        checks.append(
            Check(
                "champion",
                None,
                None,
                True,
                "no champion yet: the first model that passes the thresholds becomes champion",
            )
        )
    elif champion == version:
        checks.append(Check("champion", None, None, True, f"{version} is already the champion"))
    elif champion_metrics is None:
        checks.append(
            Check(
                "champion",
                None,
                None,
                False,
                f"champion {champion} could not be scored on these test rows: {champion_error}",
            )
        )
    else:
        limit = champion_metrics["rmse"] * (1 + gate.champion_tolerance)
        ok = metrics["rmse"] <= limit
        text = (
            f"test RMSE {metrics['rmse']:.4f} vs champion {champion} {champion_metrics['rmse']:.4f} on the same rows: "
            f"{'within' if ok else 'beyond'} the {gate.champion_tolerance:.1%} tolerance (limit {limit:.4f})"
        )
        checks.append(Check("champion", metrics["rmse"], limit, ok, text))
    promote = all(check.passed for check in checks) and champion != version
    return Decision(
        version=version,
        promote=promote,
        bootstrap=bootstrap,
        champion=champion,
        checks=checks,
        metrics=metrics,
        champion_metrics=champion_metrics,
    )


def gate_candidate(
    registry: Registry, *, version: str, test_df: pd.DataFrame, gate: GateConfig, run: str | None = None
) -> Decision:
    """Decide on a published candidate and, if it earns it, switch the champion.

    The champion is re-scored on the candidate's own test rows, and the whole
    read-compare-switch runs under the registry lock, so concurrent runs serialise.
    """
    try:
        return _gate_published(registry, version=version, test_df=test_df, gate=gate, run=run)
    except (OSError, ValueError) as exc:  # a full disk, a read-only folder, a damaged registry file
        raise RegistryError(
            f"model {version} is published, but its promotion gate could not finish ({exc}); the champion is "
            "unchanged; fix the cause and run the same command again: it reuses the published version and gates it"
        ) from exc


def _gate_published(
    registry: Registry, *, version: str, test_df: pd.DataFrame, gate: GateConfig, run: str | None
) -> Decision:
    metadata = registry.metadata(version)
    target = metadata["target"]
    with registry.lock():
        registry.recover()
        failpoint("gate:locked")
        champion = registry.champion()
        champion_metrics, champion_error = None, None
        if champion is not None and champion != version:
            try:
                package = load_package(registry, champion)
                prediction = package.predict(test_df)
                champion_metrics = regression_metrics(test_df[target].to_numpy(dtype="float64"), prediction)
            except (RegressError, KeyError, ValueError) as exc:
                champion_error = str(exc)
        decision = decide(
            version=version,
            metrics=metadata["metrics"],
            gate=gate,
            champion=champion,
            champion_metrics=champion_metrics,
            champion_error=champion_error,
            baselines=metadata.get("baselines"),
        )
        registry.record_decision(version, decision.as_dict())
        if decision.promote:
            registry.set_champion(
                version, action="bootstrap" if decision.bootstrap else "promote", reason=decision.summary, run=run
            )
    return decision
