"""The promotion gate: thresholds from configuration and a fair comparison with the champion."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from regress_core.config import GateConfig
from regress_core.data.fingerprints import load_fingerprints, row_fingerprints, seen_mask
from regress_core.errors import RegistryError, RegressError
from regress_core.evaluation.drift import DRIFT_PSI, DriftCounter
from regress_core.failpoints import failpoint
from regress_core.registry.comparison import Comparison, compare
from regress_core.registry.registered_model import RegisteredModel


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
    model: str | None = None
    comparison: Comparison | None = None
    as_of: str | None = None  # the run's instant (ISO), for a run over a time window or a scheduled one
    drift: dict[str, float] | None = None  # PSI of the test rows against the champion's training rows, by feature

    @property
    def failed(self) -> list[str]:
        return [check.name for check in self.checks if not check.passed]

    @property
    def summary(self) -> str:
        name = f"{self.model}@{self.version}" if self.model else self.version
        if self.champion == self.version:
            return f"{name} is already the champion; nothing changed"
        if self.promote and self.bootstrap:
            return f"{name} promoted: first champion (bootstrap), all thresholds passed"
        if self.promote:
            return f"{name} promoted over {self.champion}: all checks passed"
        return f"{name} not promoted: failed {', '.join(self.failed)}"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "summary": self.summary}

    def as_markdown(self) -> str:
        """The decision and every check as a Markdown table, with the comparison's interval."""
        lines = [f"## {self.summary}", ""]
        lines += [f"Run as of {self.as_of}.", ""] if self.as_of else []
        lines += ["| check | result | detail |", "|---|---|---|"]
        lines += [f"| {check.name} | {'pass' if check.passed else 'FAIL'} | {check.text} |" for check in self.checks]
        shifted = drifted(self.drift)
        if shifted:
            lines += ["", f"Data drift since the champion's training rows (PSI > {DRIFT_PSI}): {shifted}."]
        if self.comparison is not None:
            lines += [
                "",
                f"Compared on {self.comparison.note}: RMSE difference {self.comparison.difference:+.4f} "
                f"(candidate minus champion), {self.comparison.interval_text}, from {self.comparison.samples} "
                "paired bootstrap resamples.",
            ]
        return "\n".join(lines) + "\n"


def drifted(drift: dict[str, float] | None) -> str:
    """The features past the drift threshold, most shifted first, as "name PSI" words; empty when none."""
    shifted = sorted(((psi, name) for name, psi in (drift or {}).items() if psi > DRIFT_PSI), reverse=True)
    return ", ".join(f"{name} {psi:.2f}" for psi, name in shifted)


def drift_since(champion_metadata: dict[str, Any], test_df: pd.DataFrame) -> dict[str, float]:
    """Population stability index of each numeric feature of `test_df` against the champion's training rows."""
    profile = {name: spec for name, spec in champion_metadata.get("feature_profile", {}).items() if name in test_df}
    counter = DriftCounter(profile)
    counter.update(test_df[list(profile)].apply(pd.to_numeric, errors="coerce").astype("float64"))
    return counter.psi()


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


def _champion_check(comparison: Comparison, champion: str, gate: GateConfig) -> Check:
    """The candidate against its champion on the compared rows, within the tolerance (and, if asked, beyond noise)."""
    candidate_rmse, champion_rmse = comparison.candidate["rmse"], comparison.champion["rmse"]
    allowance = champion_rmse * gate.champion_tolerance
    limit = champion_rmse + allowance
    ok = comparison.difference <= allowance
    text = (
        f"test RMSE {candidate_rmse:.4f} vs champion {champion} {champion_rmse:.4f} on {comparison.note}: "
        f"difference {comparison.difference:+.4f}, {comparison.interval_text}; "
        f"{'within' if ok else 'beyond'} the {gate.champion_tolerance:.1%} tolerance (limit {limit:.4f})"
    )
    if gate.require_significant:
        sure = comparison.interval[1] <= allowance
        ok = ok and sure
        text += (
            "; the whole interval is within the tolerance"
            if sure
            else f"; gate.require_significant: the interval reaches {comparison.interval[1]:+.4f}, past the "
            f"allowance {allowance:+.4f}, so the gain may be noise"
        )
    return Check("champion", candidate_rmse, limit, ok, text)


def coverage_allowance(level: float, test_rows: int, calibration_rows: int, tolerance: float) -> float:
    """How far test coverage may stray from `level`: the tolerance, or three standard errors where rows are few.

    The coverage measured on n test rows of intervals calibrated on m rows varies by about
    sqrt(L(1 - L) (1/n + 1/(m + 2))) from the level L by chance alone; a deviation within three
    of those proves nothing, so on small tables the allowance widens to that.
    """
    spread = math.sqrt(level * (1 - level) * (1 / max(test_rows, 1) + 1 / (calibration_rows + 2)))
    return max(tolerance, 3 * spread)


def _coverage_check(intervals: dict[str, Any], tolerance: float) -> Check:
    """The prediction intervals' coverage of the test rows against their level."""
    level, test = float(intervals["level"]), intervals["test"]
    if test.get("coverage") is None:
        return Check(
            "interval_coverage",
            None,
            None,
            True,
            f"not measured: {intervals['calibration_rows']} validation rows are too few for intervals at {level:.0%}",
        )
    coverage, rows = float(test["coverage"]), int(test["rows"])
    allowance = coverage_allowance(level, rows, int(intervals["calibration_rows"]), tolerance)
    ok = abs(coverage - level) <= allowance
    text = (
        f"{level:.0%} intervals ({intervals['method']}) cover {coverage:.1%} of {rows} test rows: "
        f"{'within' if ok else 'more than'} {allowance * 100:.1f} points of the target"
    )
    if not ok:
        text += "; they would mislead anyone who relies on them"
    return Check("interval_coverage", coverage, level, ok, text)


def _threshold_checks(
    metrics: dict[str, float],
    gate: GateConfig,
    baselines: dict[str, dict[str, float]] | None = None,
    intervals: dict[str, Any] | None = None,
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
    if gate.coverage_tolerance is not None and intervals:  # versions from before intervals record none
        checks.append(_coverage_check(intervals, gate.coverage_tolerance))
    return checks


def _versus_champion(
    version: str, champion: str | None, comparison: Comparison | None, champion_error: str | None, gate: GateConfig
) -> Check:
    """The champion check: passed before the first champion, else the comparison decides."""
    if champion is None:
        return Check(
            "champion", None, None, True, "no champion yet: the first model that passes the thresholds becomes champion"
        )
    if champion == version:
        return Check("champion", None, None, True, f"{version} is already the champion")
    if comparison is None:
        return Check(
            "champion",
            None,
            None,
            False,
            f"champion {champion} could not be scored on these test rows: {champion_error}",
        )
    return _champion_check(comparison, champion, gate)


def decide(
    *,
    version: str,
    metrics: dict[str, float],
    gate: GateConfig,
    champion: str | None,
    comparison: Comparison | None,
    champion_error: str | None = None,
    baselines: dict[str, dict[str, float]] | None = None,
    model: str | None = None,
    as_of: str | None = None,
    intervals: dict[str, Any] | None = None,
) -> Decision:
    """Apply the thresholds and the champion comparison to a candidate's test metrics.

    Args:
        version: The candidate version.
        metrics: Candidate test metrics in target units.
        gate: Thresholds and tolerance.
        champion: Current champion version of the same model, None before the first promotion.
        comparison: Candidate and champion on the test rows neither has seen.
        champion_error: Why the champion could not be re-scored, if it could not.
        baselines: Baseline metrics on the same test rows (`linear_regression` is checked).
        model: The model's name.
        as_of: The run's instant (ISO), recorded with the decision.
        intervals: The package's interval summary (`evaluation.intervals.interval_summary`), whose test
            coverage is checked.
    """
    checks = _threshold_checks(metrics, gate, baselines, intervals)
    checks.append(_versus_champion(version, champion, comparison, champion_error, gate))
    return Decision(
        version=version,
        promote=all(check.passed for check in checks) and champion != version,
        bootstrap=champion is None,
        champion=champion,
        checks=checks,
        metrics=metrics,
        champion_metrics=comparison.champion if comparison else None,
        model=model,
        comparison=comparison,
        as_of=as_of,
    )


def gate_candidate(
    registry: RegisteredModel,
    *,
    version: str,
    test_df: pd.DataFrame,
    gate: GateConfig,
    run: str | None = None,
    as_of: str | None = None,
) -> Decision:
    """Decide on a published candidate and, if it earns it, switch the champion.

    The candidate meets the champion of its own model only. Both are scored on the
    candidate's test rows that neither trained or validated on (`comparison`), and the
    whole read-compare-switch runs under the model's lock, so concurrent runs serialise.
    """
    try:
        return _gate_published(registry, version=version, test_df=test_df, gate=gate, run=run, as_of=as_of)
    except (OSError, ValueError) as exc:  # a full disk, a read-only folder, a damaged registry file
        raise RegistryError(
            f"model {registry.name}@{version} is published, but its promotion gate could not finish ({exc}); the "
            "champion is unchanged; fix the cause and run the same command again: it reuses the published version "
            "and gates it"
        ) from exc


def _seen_rows(
    registry: RegisteredModel, version: str, metadata: dict[str, Any], test_df: pd.DataFrame
) -> np.ndarray | None:
    """True for each test row the version trained or validated on; None when its package records no rows."""
    info = metadata.get("seen_rows")
    if not info:
        return None
    seen = load_fingerprints(registry.version_dir(version) / info["file"])
    return seen_mask(row_fingerprints(test_df, info["columns"]), seen)


def _compare_with_champion(
    registry: RegisteredModel, *, version: str, champion: str, test_df: pd.DataFrame, gate: GateConfig
) -> Comparison:
    from regress_core.registry.package import load_package  # torch: loaded when a champion is compared

    candidate, current = load_package(registry, version), load_package(registry, champion)
    y = test_df[candidate.metadata["target"]].to_numpy(dtype="float64")
    seen_by_candidate = _seen_rows(registry, version, candidate.metadata, test_df)
    return compare(
        y,
        candidate.predict(test_df),
        current.predict(test_df),
        seen_by_candidate=seen_by_candidate if seen_by_candidate is not None else np.zeros(len(y), dtype=bool),
        seen_by_champion=_seen_rows(registry, champion, current.metadata, test_df),
        min_rows=gate.min_comparison_rows,
    )


def _gate_published(
    registry: RegisteredModel,
    *,
    version: str,
    test_df: pd.DataFrame,
    gate: GateConfig,
    run: str | None,
    as_of: str | None,
) -> Decision:
    metadata = registry.metadata(version)
    with registry.lock():
        registry.recover()
        failpoint("gate:locked")
        champion = registry.champion()
        comparison, champion_error, drift = None, None, None
        if champion is not None and champion != version:
            try:
                comparison = _compare_with_champion(
                    registry, version=version, champion=champion, test_df=test_df, gate=gate
                )
            except (RegressError, KeyError, ValueError) as exc:
                champion_error = str(exc)
            drift = drift_since(registry.metadata(champion), test_df)
        decision = decide(
            version=version,
            metrics=metadata["metrics"],
            gate=gate,
            champion=champion,
            comparison=comparison,
            champion_error=champion_error,
            baselines=metadata.get("baselines"),
            model=registry.name,
            as_of=as_of,
            intervals=metadata.get("intervals"),
        )
        decision.drift = drift
        registry.record_decision(version, decision.as_dict())
        if decision.promote:
            registry.set_champion(
                version, action="bootstrap" if decision.bootstrap else "promote", reason=decision.summary, run=run
            )
    return decision
