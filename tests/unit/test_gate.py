import numpy as np
import pandas as pd

from regress_core.config import GateConfig
from regress_core.evaluation.drift import feature_profile
from regress_core.registry.comparison import compare
from regress_core.registry.gate import decide, drift_since, drifted

GOOD = {"mse": 0.25, "rmse": 0.5, "mae": 0.4, "r2": 0.8}


def comparison_of(candidate_rmse: float, champion_rmse: float, n_rows: int = 400):
    """Two models whose errors are ±rmse on every row of a zero target, none of the rows seen."""
    signs = np.where(np.arange(n_rows) % 2 == 0, 1.0, -1.0)
    unseen = np.zeros(n_rows, dtype=bool)
    return compare(
        np.zeros(n_rows),
        candidate_rmse * signs,
        champion_rmse * signs,
        seen_by_candidate=unseen,
        seen_by_champion=unseen,
        min_rows=30,
    )


def checks(decision):
    return {check.name: check.passed for check in decision.checks}


def test_first_model_bootstraps_explicitly():
    decision = decide(version="v0001", metrics=GOOD, gate=GateConfig(), champion=None, comparison=None)
    assert decision.promote
    assert decision.bootstrap
    assert "first champion (bootstrap)" in decision.summary
    assert "no champion yet" in decision.checks[-1].text


def test_threshold_failures_block_promotion_and_are_named():
    gate = GateConfig(r2_min=0.9, rmse_max=0.4, mae_max=1.0)
    decision = decide(version="v0001", metrics=GOOD, gate=gate, champion=None, comparison=None)
    assert not decision.promote
    assert checks(decision) == {"r2_min": False, "rmse_max": False, "mae_max": True, "champion": True}
    assert decision.summary == "v0001 not promoted: failed r2_min, rmse_max"
    assert decision.checks[0].text == "test R2 0.8000 < minimum 0.9000"


def test_candidate_within_tolerance_of_champion_is_promoted():
    decision = decide(
        version="v0002",
        metrics=GOOD,
        gate=GateConfig(champion_tolerance=0.01),
        champion="v0001",
        comparison=comparison_of(0.5, 0.498),
    )
    assert decision.promote
    assert not decision.bootstrap
    assert "within the 1.0% tolerance" in decision.checks[-1].text


def test_candidate_worse_than_champion_is_rejected():
    decision = decide(
        version="v0002",
        metrics=GOOD,
        gate=GateConfig(champion_tolerance=0.01),
        champion="v0001",
        comparison=comparison_of(0.5, 0.45),
    )
    assert not decision.promote
    assert decision.checks[-1].text.startswith(
        "test RMSE 0.5000 vs champion v0001 0.4500 on all 400 test rows, none seen in training or validation by "
        "either model: difference +0.0500, 95% bootstrap interval of the difference [+0.0500, +0.0500]; beyond"
    )


def test_champion_that_cannot_be_scored_blocks_promotion():
    decision = decide(
        version="v0002",
        metrics=GOOD,
        gate=GateConfig(),
        champion="v0001",
        comparison=None,
        champion_error="missing feature columns: z",
    )
    assert not decision.promote
    assert "could not be scored on these test rows: missing feature columns: z" in decision.checks[-1].text


def test_thresholds_can_be_switched_off():
    decision = decide(
        version="v0001",
        metrics={**GOOD, "r2": -3.0},
        gate=GateConfig(r2_min=None),
        champion=None,
        comparison=None,
    )
    assert decision.promote


LINE = {"mse": 0.16, "rmse": 0.4, "mae": 0.3, "r2": 0.87}


def test_a_model_worse_than_a_straight_line_is_refused_with_the_reason():
    decision = decide(
        version="v0001",
        metrics=GOOD,
        gate=GateConfig(),
        champion=None,
        comparison=None,
        baselines={"mean": GOOD, "linear_regression": LINE},
    )
    assert not decision.promote
    assert checks(decision)["linear_baseline"] is False
    assert decision.summary == "v0001 not promoted: failed linear_baseline"
    text = next(check.text for check in decision.checks if check.name == "linear_baseline")
    assert text == (
        "test RMSE 0.5000 is worse than LinearRegression's 0.4000 on the same rows plus the 2.0% tolerance "
        "(limit 0.4080): a straight line fits this table better"
    )


def test_the_linear_tolerance_is_configurable_and_the_check_can_be_turned_off():
    baselines = {"linear_regression": LINE}
    within = decide(
        version="v0001",
        metrics=GOOD,
        gate=GateConfig(linear_tolerance=0.3),
        champion=None,
        comparison=None,
        baselines=baselines,
    )
    assert within.promote
    text = next(check.text for check in within.checks if check.name == "linear_baseline")
    assert text == "test RMSE 0.5000 <= LinearRegression's 0.4000 on the same rows plus the 30.0% tolerance"
    off = decide(
        version="v0001",
        metrics=GOOD,
        gate=GateConfig(linear_tolerance=None),
        champion=None,
        comparison=None,
        baselines=baselines,
    )
    assert off.promote
    assert "linear_baseline" not in checks(off)


def test_a_decision_records_the_runs_as_of_and_shows_it():
    decision = decide(
        version="v0001",
        metrics=GOOD,
        gate=GateConfig(),
        champion=None,
        comparison=None,
        as_of="2026-12-01T00:00:00+00:00",
    )
    assert decision.as_dict()["as_of"] == "2026-12-01T00:00:00+00:00"
    assert "Run as of 2026-12-01T00:00:00+00:00." in decision.as_markdown()
    undated = decide(version="v0001", metrics=GOOD, gate=GateConfig(), champion=None, comparison=None)
    assert undated.as_dict()["as_of"] is None
    assert "as of" not in undated.as_markdown()


def test_drift_since_the_champion_compares_test_rows_with_its_training_profile():
    rng = np.random.default_rng(0)
    trained_on = pd.DataFrame({"a": rng.normal(size=2000), "b": rng.normal(size=2000)})
    champion = {"feature_profile": feature_profile(trained_on, ["a", "b"])}
    test_rows = pd.DataFrame({"a": rng.normal(size=500), "b": rng.normal(loc=1.5, size=500), "c": ["x"] * 500})
    drift = drift_since(champion, test_rows)
    assert sorted(drift) == ["a", "b"]
    assert drift["a"] < 0.1 < 0.2 < drift["b"]
    assert drifted(drift) == f"b {drift['b']:.2f}"
    assert drifted({"a": 0.05}) == ""
