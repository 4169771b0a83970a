"""Prediction intervals: conformal quantiles, the choice of method, coverage, and the gate's coverage check."""

import math

import numpy as np
import pytest

from regress_core.config import GateConfig
from regress_core.errors import ConfigError
from regress_core.evaluation.intervals import (
    IntervalCalibration,
    calibrate,
    conformal_quantile,
    coverage,
    interval_summary,
    level_key,
)
from regress_core.registry.gate import decide

GOOD = {"mse": 0.25, "rmse": 0.5, "mae": 0.4, "r2": 0.8}


def rows(n: int, *, seed: int, widening: bool) -> tuple[np.ndarray, np.ndarray]:
    """Predictions on [0, 10] and true values whose noise is constant, or grows with the prediction."""
    rng = np.random.default_rng(seed)
    prediction = rng.uniform(0, 10, n)
    sigma = 0.2 + 0.3 * prediction if widening else np.ones(n)
    return prediction + rng.normal(0, 1, n) * sigma, prediction


def fitted(widening: bool, *, val_rows: int = 1500, level: float = 0.9) -> IntervalCalibration:
    y_train, train_prediction = rows(5000, seed=0, widening=widening)
    y_val, val_prediction = rows(val_rows, seed=1, widening=widening)
    return calibrate(y_val, val_prediction, y_train=y_train, train_prediction=train_prediction, level=level)


def test_the_conformal_quantile_is_the_finite_sample_order_statistic():
    scores = np.arange(1.0, 20.0)  # 19 scores: at 0.9, rank ceil(20 * 0.9) = 18
    assert conformal_quantile(scores, 0.9) == 18.0
    assert conformal_quantile(scores, 0.95) == 19.0
    assert math.isinf(conformal_quantile(scores[:9], 0.95))  # rank 10 of 9 scores: no finite bound


@pytest.mark.parametrize("widening", [False, True])
def test_intervals_cover_unseen_rows_at_their_level(widening):
    calibration = fitted(widening)
    y_new, prediction = rows(20_000, seed=2, widening=widening)
    for level in (0.8, 0.9, 0.95):
        lower, upper = calibration.bounds(prediction, level)
        assert abs(coverage(y_new, lower, upper) - level) < 0.02
        assert np.all(lower <= prediction)
        assert np.all(prediction <= upper)


def test_widths_follow_the_errors_where_they_grow_and_stay_constant_where_they_do_not():
    widening, constant = fitted(True), fitted(False)
    assert widening.method == "normalized"
    assert constant.method == "absolute"
    _, prediction = rows(1000, seed=3, widening=True)
    lower, upper = widening.bounds(np.array([1.0, 9.0]))
    assert upper[1] - lower[1] > 3 * (upper[0] - lower[0])
    lower, upper = constant.bounds(prediction)
    assert np.allclose(upper - lower, upper[0] - lower[0])


def test_a_calibration_round_trips_through_its_dictionary():
    calibration = fitted(True)
    assert IntervalCalibration.from_dict(calibration.to_dict()) == calibration


def test_an_unknown_level_and_one_too_high_for_the_rows_are_refused_in_one_line():
    calibration = fitted(False, val_rows=12)
    with pytest.raises(ConfigError, match=r"^no interval at level 0.955: this version holds levels 0.50 to 0.99"):
        calibration.bounds(np.zeros(3), 0.955)
    with pytest.raises(ConfigError, match=r"^an interval at level 0.95 needs at least 19 validation rows; .* on 12"):
        calibration.bounds(np.zeros(3), 0.95)
    lower, upper = calibration.bounds(np.zeros(3), 0.9)  # 12 rows are enough at 0.9
    assert np.all(upper > lower)


def test_the_models_own_level_is_stored_beside_the_grid():
    calibration = fitted(False, level=0.925)
    assert level_key(0.925) in calibration.quantiles
    assert level_key(0.9) == "0.90"
    assert calibration.quantile(0.9) < calibration.quantile(0.925) < calibration.quantile(0.93)


def test_the_summary_records_coverage_and_width_on_the_test_rows():
    calibration = fitted(False)
    y_test, prediction = rows(4000, seed=4, widening=False)
    summary = interval_summary(calibration, y_test, prediction)
    lower, upper = calibration.bounds(prediction)
    assert summary["method"] == "absolute"
    assert summary["level"] == 0.9
    assert summary["calibration_rows"] == 1500
    assert summary["test"] == {
        "coverage": coverage(y_test, lower, upper),
        "mean_width": float(np.mean(upper - lower)),
        "rows": 4000,
    }


def summary_of(coverage_value: float | None, rows_: int) -> dict:
    return {
        "method": "absolute",
        "level": 0.9,
        "calibration_rows": 2000,
        "quantile": 1.0,
        "test": {"coverage": coverage_value, "mean_width": 2.0, "rows": rows_},
    }


def coverage_check(summary: dict, gate: GateConfig | None = None):
    decision = decide(
        version="v0001", metrics=GOOD, gate=gate or GateConfig(), champion=None, comparison=None, intervals=summary
    )
    return next(check for check in decision.checks if check.name == "interval_coverage"), decision


def test_the_gate_refuses_intervals_more_than_three_points_off_target():
    check, decision = coverage_check(summary_of(0.86, 4000))
    assert not check.passed
    assert not decision.promote
    assert check.text == (
        "90% intervals (absolute) cover 86.0% of 4000 test rows: more than 3.0 points of the target; "
        "they would mislead anyone who relies on them"
    )
    assert decision.summary == "v0001 not promoted: failed interval_coverage"
    check, decision = coverage_check(summary_of(0.925, 4000))
    assert check.passed
    assert decision.promote


def test_on_few_rows_the_allowance_is_three_standard_errors_of_the_coverage():
    # 0.9 on 20 test rows and 2000 calibration rows: 3 * sqrt(0.09 * (1/20 + 1/2002)) = 0.2022
    check, _ = coverage_check(summary_of(0.75, 20))  # three rows short of 0.9 on 20 rows is chance
    assert check.passed
    assert "within 20.2 points" in check.text
    check, _ = coverage_check(summary_of(0.65, 20))
    assert not check.passed


def test_the_coverage_check_can_be_turned_off_and_is_absent_for_versions_without_intervals():
    decision = decide(
        version="v0001",
        metrics=GOOD,
        gate=GateConfig(coverage_tolerance=None),
        champion=None,
        comparison=None,
        intervals=summary_of(0.5, 4000),
    )
    assert decision.promote
    assert "interval_coverage" not in [check.name for check in decision.checks]
    decision = decide(version="v0001", metrics=GOOD, gate=GateConfig(), champion=None, comparison=None)
    assert "interval_coverage" not in [check.name for check in decision.checks]


def test_too_few_validation_rows_for_the_level_is_reported_not_failed():
    check, _ = coverage_check(summary_of(None, 20))
    assert check.passed
    assert check.text == "not measured: 2000 validation rows are too few for intervals at 90%"
