"""Predictions joined to late actuals, and error by day equal to pandas' own figures on the same join."""

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest

from regress_core.errors import DataError
from regress_core.monitoring import degraded, errors_by_day, join_actuals, window_error


def scored(day: int, n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"id": [f"d{day}-{i}" for i in range(n)], "prediction": rng.normal(10, 2, n)})


def arrived(predictions: pd.DataFrame, fraction: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = predictions.sample(frac=fraction, random_state=seed)
    return pd.DataFrame({"id": rows["id"], "price": rows["prediction"] + rng.normal(0, 1, len(rows))})


def test_the_join_keeps_every_prediction_and_marks_those_still_waiting():
    predictions = scored(1, 10, seed=0)
    actuals = arrived(predictions, 0.6, seed=1)
    joined = join_actuals(predictions, actuals, key="id", target="price")
    assert joined["id"].tolist() == predictions["id"].tolist()
    assert joined["actual"].notna().sum() == 6
    by_id = actuals.set_index("id")["price"]
    present = joined.dropna(subset=["actual"])
    assert (present["actual"].to_numpy() == by_id.loc[present["id"]].to_numpy()).all()


def test_each_days_error_equals_the_one_computed_with_pandas():
    days = {}
    for day in (3, 1, 2):
        predictions = scored(day, 40, seed=day)
        days[date(2026, 11, day)] = join_actuals(predictions, arrived(predictions, 0.75, day), key="id", target="price")
    errors = errors_by_day(days)
    assert [error.date for error in errors] == [date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)]
    for error in errors:
        frame = days[error.date].dropna(subset=["actual"])
        residual = frame["actual"] - frame["prediction"]
        assert error.rows == len(frame) == 30
        assert error.waiting == 10
        assert error.rmse == pytest.approx(math.sqrt((residual**2).mean()), rel=1e-12)
        assert error.mae == pytest.approx(residual.abs().mean(), rel=1e-12)
        r2 = 1 - (residual**2).sum() / ((frame["actual"] - frame["actual"].mean()) ** 2).sum()
        assert error.r2 == pytest.approx(r2, rel=1e-12)
    whole = window_error(days)
    everything = pd.concat(days.values()).dropna(subset=["actual"])
    assert whole.rows == 90
    assert whole.rmse == pytest.approx(math.sqrt(((everything["actual"] - everything["prediction"]) ** 2).mean()))


def test_a_day_with_no_actuals_yet_has_no_error_and_says_how_many_wait():
    predictions = scored(1, 5, seed=0)
    joined = join_actuals(predictions, pd.DataFrame({"id": ["elsewhere"], "price": [1.0]}), key="id", target="price")
    (error,) = errors_by_day({date(2026, 11, 1): joined})
    assert (error.rows, error.waiting) == (0, 5)
    assert math.isnan(error.rmse)
    assert error.as_json() == {"date": "2026-11-01", "rows": 0, "waiting": 5, "rmse": None, "mae": None, "r2": None}
    assert window_error({}) is None


def test_repeated_keys_and_missing_columns_are_one_line_errors():
    predictions = scored(1, 3, seed=0)
    twice = pd.DataFrame({"id": ["d1-0", "d1-0"], "price": [1.0, 2.0]})
    with pytest.raises(DataError, match=r"key 'id' repeats in the actuals \(d1-0\)"):
        join_actuals(predictions, twice, key="id", target="price")
    with pytest.raises(DataError, match=r"the actuals have no column 'price'"):
        join_actuals(predictions, pd.DataFrame({"id": ["d1-0"]}), key="id", target="price")
    with pytest.raises(DataError, match=r"the predictions have no column 'order'"):
        join_actuals(predictions, twice, key="order", target="price")


def test_degraded_is_worse_than_the_test_error_by_more_than_the_tolerance():
    assert degraded(1.21, 1.0, tolerance=0.2)
    assert not degraded(1.2, 1.0, tolerance=0.2)
    assert not degraded(math.nan, 1.0, tolerance=0.2)
