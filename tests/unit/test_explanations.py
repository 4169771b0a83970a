"""Permutation importance, the error by category of the most important categorical feature, and their plots."""

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from regress_core.data.contract import infer_contract
from regress_core.evaluation.explanations import explain_predictions
from regress_core.evaluation.importance import permutation_importance
from regress_core.evaluation.metrics import error_by_bin, error_by_category

PNG = b"\x89PNG\r\n\x1a\n"


def signal_and_noise(n_rows: int = 200, *, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({name: rng.normal(size=n_rows) for name in ("noise_a", "signal", "noise_b")})
    df["y"] = 4 * df["signal"] + rng.normal(0, 0.3, n_rows)
    return df


def fitted_predict(df: pd.DataFrame, features: list[str], categorical: tuple[str, ...] = ()):
    """A real model (one-hot categories, linear regression) and its predict callable on raw rows."""
    encode = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), list(categorical)), remainder="passthrough"
    )
    model = make_pipeline(encode, LinearRegression()).fit(df[features], df["y"])
    return lambda rows: model.predict(rows[features])


def test_importance_ranks_the_informative_column_first_and_repeats_for_a_seed():
    df = signal_and_noise()
    features = ["noise_a", "signal", "noise_b"]
    predict = fitted_predict(df, features)
    rows = permutation_importance(df, df["y"].to_numpy(), predict, features, repeats=3, seed=7)
    assert rows[0]["feature"] == "signal"
    assert rows[0]["rmse_increase"] > 3  # shuffling a 4-sigma signal costs most of its spread
    assert all(abs(row["rmse_increase"]) < 0.05 for row in rows[1:])
    assert {(row["repeats"], row["rows"]) for row in rows} == {(3, 200)}
    assert all(row["std"] >= 0 for row in rows)
    assert rows == permutation_importance(df, df["y"].to_numpy(), predict, features, repeats=3, seed=7)
    assert rows != permutation_importance(df, df["y"].to_numpy(), predict, features, repeats=3, seed=8)


def test_importance_uses_a_seeded_sample_of_a_long_table():
    df = signal_and_noise(600)
    predict = fitted_predict(df, ["signal", "noise_a"])
    rows = permutation_importance(df, df["y"].to_numpy(), predict, ["signal", "noise_a"], max_rows=250)
    assert {row["rows"] for row in rows} == {250}
    # rows x features x repeats stays near the budget: 1,000 / (2 x 5) rows, but never under 200
    budgeted = permutation_importance(df, df["y"].to_numpy(), predict, ["signal", "noise_a"], max_predictions=1_000)
    assert {row["rows"] for row in budgeted} == {200}
    assert budgeted[0]["feature"] == "signal"


def test_importance_refuses_no_repeats():
    df = signal_and_noise(20)
    with pytest.raises(ValueError, match="repeats must be positive, got repeats=0"):
        permutation_importance(df, df["y"].to_numpy(), lambda rows: np.zeros(len(rows)), ["signal"], repeats=0)


def test_error_by_category_keeps_the_largest_categories_and_pools_the_rest():
    categories = pd.Series(["a"] * 5 + ["b"] * 3 + ["c", "d", None])
    y_pred = np.arange(11.0)
    rows = error_by_category(categories, np.zeros(11), y_pred, max_categories=2)
    assert [(row["category"], row["rows"]) for row in rows] == [("a", 5), ("b", 3), ("other (3 categories)", 3)]
    assert rows[0]["rmse"] == pytest.approx(np.sqrt(np.mean(y_pred[:5] ** 2)))
    assert rows[2]["rmse"] == pytest.approx(np.sqrt(np.mean(y_pred[8:] ** 2)))
    blank = error_by_category(categories, np.zeros(11), y_pred)
    assert ("(blank)", 1) in [(row["category"], row["rows"]) for row in blank]


def test_explanations_break_the_error_down_by_the_most_important_categorical_feature(tmp_path):
    rng = np.random.default_rng(1)
    n_rows = 400
    df = pd.DataFrame(
        {
            "size": rng.uniform(0, 10, n_rows),
            "colour": rng.choice(["red", "blue"], n_rows),  # a weak effect
            "town": [f"t{i:02d}" for i in rng.integers(0, 20, n_rows)],  # a strong effect, 20 categories
        }
    )
    town_effect = {f"t{i:02d}": 5.0 * i for i in range(20)}
    df["y"] = df["size"] + df["town"].map(town_effect) + 0.5 * (df["colour"] == "red") + rng.normal(0, 0.2, n_rows)
    contract = infer_contract(df, target="y")
    assert contract.names_of("categorical") == ["colour", "town"]
    predict = fitted_predict(df, contract.feature_names, ("colour", "town"))
    y_true = df["y"].to_numpy()
    explained = explain_predictions(df, y_true, predict(df), predict, contract, out_dir=tmp_path)
    assert explained.importance[0]["feature"] == "town"
    assert explained.category_errors["feature"] == "town"
    by_category = explained.category_errors["rows"]
    assert len(by_category) == 16
    assert by_category[-1]["category"] == "other (5 categories)"
    assert sum(row["rows"] for row in by_category) == n_rows
    assert sorted(explained.plots) == ["error_by_category", "importance"]
    assert all(path.read_bytes()[:8] == PNG for path in explained.plots.values())


def test_a_table_without_categories_shows_the_error_along_its_most_important_feature(tmp_path):
    df = signal_and_noise(80)
    contract = infer_contract(df, target="y")
    predict = fitted_predict(df, contract.feature_names)
    explained = explain_predictions(df, df["y"].to_numpy(), predict(df), predict, contract, out_dir=tmp_path)
    assert explained.importance[0]["feature"] == "signal"
    assert explained.category_errors["feature"] == "signal"
    assert explained.category_errors["kind"] == "numeric"
    assert explained.category_errors["rows"] == error_by_bin(df["signal"], df["y"].to_numpy(), predict(df))
    assert sorted(explained.plots) == ["error_by_category", "importance"]


def test_error_by_bin_splits_a_feature_into_tenths_lowest_first_with_blanks_last():
    values = pd.Series([*range(100), None, None], dtype="float64")
    y_pred = np.r_[np.zeros(50), np.full(50, 2.0), [3.0, 3.0]]
    rows = error_by_bin(values, np.zeros(102), y_pred)
    assert [row["rows"] for row in rows] == [10] * 10 + [2]
    assert rows[0] == {"category": "[0, 9]", "rows": 10, "rmse": 0.0}
    assert rows[-2] == {"category": "[90, 99]", "rows": 10, "rmse": 2.0}
    assert rows[-1] == {"category": "(blank)", "rows": 2, "rmse": 3.0}
    assert error_by_bin(pd.Series([1.0] * 5), np.zeros(5), np.ones(5)) == [
        {"category": "[1, 1]", "rows": 5, "rmse": 1.0}
    ]
