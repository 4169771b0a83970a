from regress_core.config import GateConfig
from regress_core.registry.gate import decide

GOOD = {"mse": 0.25, "rmse": 0.5, "mae": 0.4, "r2": 0.8}


def checks(decision):
    return {check.name: check.passed for check in decision.checks}


def test_first_model_bootstraps_explicitly():
    decision = decide(version="v0001", metrics=GOOD, gate=GateConfig(), champion=None, champion_metrics=None)
    assert decision.promote and decision.bootstrap
    assert "first champion (bootstrap)" in decision.summary
    assert "no champion yet" in decision.checks[-1].text


def test_threshold_failures_block_promotion_and_are_named():
    gate = GateConfig(r2_min=0.9, rmse_max=0.4, mae_max=1.0)
    decision = decide(version="v0001", metrics=GOOD, gate=gate, champion=None, champion_metrics=None)
    assert not decision.promote
    assert checks(decision) == {"r2_min": False, "rmse_max": False, "mae_max": True, "champion": True}
    assert decision.summary == "v0001 not promoted: failed r2_min, rmse_max"
    assert decision.checks[0].text == "test R2 0.8000 < minimum 0.9000"


def test_candidate_within_tolerance_of_champion_is_promoted():
    champion = {**GOOD, "rmse": 0.498}
    decision = decide(
        version="v0002",
        metrics=GOOD,
        gate=GateConfig(champion_tolerance=0.01),
        champion="v0001",
        champion_metrics=champion,
    )
    assert decision.promote and not decision.bootstrap
    assert "within the 1.0% tolerance" in decision.checks[-1].text


def test_candidate_worse_than_champion_is_rejected():
    champion = {**GOOD, "rmse": 0.45}
    decision = decide(
        version="v0002",
        metrics=GOOD,
        gate=GateConfig(champion_tolerance=0.01),
        champion="v0001",
        champion_metrics=champion,
    )
    assert not decision.promote
    assert "test RMSE 0.5000 vs champion v0001 0.4500 on the same rows: beyond" in decision.checks[-1].text


def test_champion_that_cannot_be_scored_blocks_promotion():
    decision = decide(
        version="v0002",
        metrics=GOOD,
        gate=GateConfig(),
        champion="v0001",
        champion_metrics=None,
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
        champion_metrics=None,
    )
    assert decision.promote


LINE = {"mse": 0.16, "rmse": 0.4, "mae": 0.3, "r2": 0.87}


def test_a_model_worse_than_a_straight_line_is_refused_with_the_reason():
    decision = decide(
        version="v0001",
        metrics=GOOD,
        gate=GateConfig(),
        champion=None,
        champion_metrics=None,
        baselines={"mean": GOOD, "linear_regression": LINE},
    )
    assert not decision.promote and checks(decision)["linear_baseline"] is False
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
        champion_metrics=None,
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
        champion_metrics=None,
        baselines=baselines,
    )
    assert off.promote and "linear_baseline" not in checks(off)
