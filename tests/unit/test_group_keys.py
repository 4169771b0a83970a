"""Numeric columns that name groups of rows (a person in a panel) are also target-encoded."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from regress_core.data.contract import infer_contract
from regress_core.data.group_keys import MIN_GAIN, group_key_gains, group_keys
from regress_core.data.preprocessing import Preprocessor
from regress_core.data.preprocessor_io import load_preprocessor, save_preprocessor
from regress_core.registry.card import _features_table


def panel(n_people: int = 80, years: int = 6, seed: int = 0) -> pd.DataFrame:
    """Wages of people over years: mostly each person's level, a small trend, and measures whose values repeat."""
    rng = np.random.default_rng(seed)
    level = rng.normal(0, 1, n_people)
    person = np.repeat(rng.permutation(np.arange(1000, 1000 + n_people)), years)  # numbers in no order
    year = np.tile(np.arange(years), n_people)
    age = rng.integers(20, 60, n_people * years)  # a measure: smooth effect, values repeat
    hours = rng.integers(1000, 3000, n_people * years)  # a measure: values almost never repeat
    y = level[person - 1000] + 0.05 * year + 0.02 * (age - 40) + rng.normal(0, 0.2, n_people * years)
    return pd.DataFrame({"nr": person, "year": year, "age": age, "hours": hours, "lwage": y})


def test_a_persons_number_reads_as_a_group_key_and_measures_do_not():
    df = panel()
    y = df.pop("lwage").to_numpy()
    gains = group_key_gains(df, y, ["nr", "year", "age", "hours"])
    assert set(gains) == {"nr", "age"}  # year has 6 values; hours too few repeats
    assert gains["nr"] > 0.5
    assert gains["age"] < MIN_GAIN
    assert group_keys(df, y, ["nr", "year", "age", "hours"]) == ["nr"]


@pytest.mark.parametrize(
    "values",
    [
        np.arange(480) % 80 + 0.5,  # not integers
        np.where(np.arange(480) % 7 == 0, np.nan, np.arange(480) % 80),  # blanks
        np.arange(480) % 15,  # too few values
        np.arange(480) % 300,  # too few rows per value
    ],
    ids=["fractions", "blanks", "few-values", "few-repeats"],
)
def test_only_repeated_integers_are_candidates(values):
    y = np.random.default_rng(0).normal(size=len(values))
    assert group_key_gains(pd.DataFrame({"k": values}), y, ["k"]) == {}


def test_the_preprocessor_encodes_a_key_out_of_fold_keeps_its_value_and_saves_it(tmp_path):
    df = panel()
    train, new = df[df.year < 5], df[df.year == 5]  # the last year of the same people
    pre = Preprocessor(contract=infer_contract(df, target="lwage"), scaler="robust_clip")
    views = pre.fit_transform_views(train)
    assert pre.group_keys_ == ["nr"]
    names = pre.feature_names_out()
    assert "group_key__nr" in names
    assert "numeric__nr" in names
    key = names.index("group_key__nr")
    # Training rows are encoded by the other folds' rows: not as every training row would encode them.
    assert not np.allclose(views["configured"][:, key], pre.transform_features(train)[:, key])
    # The key predicts the target on rows the preprocessor never saw.
    encoded = pre.transform_features(new, view="standard")[:, key]
    assert np.corrcoef(encoded, new["lwage"])[0, 1] > 0.8
    # A person never seen gets one value (the training mean), whatever the number.
    unseen = new.assign(nr=[5000 + i for i in range(len(new))])
    assert np.ptp(pre.transform_features(unseen)[:, key]) < 1e-6
    loaded = load_preprocessor(save_preprocessor(pre, tmp_path / "p.skops"))
    np.testing.assert_array_equal(loaded.transform_features(new), pre.transform_features(new))


def test_a_table_without_keys_gets_no_key_inputs():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=300), "age": rng.integers(20, 60, 300)})
    df["y"] = df.x + 0.01 * df.age + rng.normal(0, 0.1, 300)
    pre = Preprocessor(contract=infer_contract(df, target="y")).fit(df)
    assert pre.group_keys_ == []
    assert not any(name.startswith("group_key__") for name in pre.feature_names_out())


def test_the_model_card_names_a_group_key():
    df = panel()
    contract = infer_contract(df, target="lwage")
    lines = "\n".join(_features_table({"group_keys": ["nr"]}, contract))
    assert "| nr | numeric |" in lines
    assert "a group key: also target-encoded" in lines
    assert lines.count("group key") == 1


def test_a_large_table_is_measured_on_a_seeded_sample_of_its_rows(monkeypatch):
    from regress_core.data import group_keys as module

    df = panel(n_people=200, years=10)
    y = df.pop("lwage").to_numpy()
    whole = group_key_gains(df, y, ["nr", "age"])
    monkeypatch.setattr(module, "MAX_ROWS", 1000)
    sampled = group_key_gains(df, y, ["nr", "age"])
    assert sampled != whole
    assert sampled == group_key_gains(df, y, ["nr", "age"])  # the same rows every time
    assert group_keys(df, y, ["nr", "age"]) == ["nr"]


def test_a_key_whose_values_the_validation_rows_do_not_hold_is_left_out():
    df = panel()
    train = df[df.nr < 1060]
    y = train.pop("lwage").to_numpy()
    same_people = df[df.nr < 1060].drop(columns="lwage")
    new_people = df[df.nr >= 1060].drop(columns="lwage")  # as a split by time meets new periods
    assert group_keys(train, y, ["nr"], held_out=same_people) == ["nr"]
    assert group_keys(train, y, ["nr"], held_out=new_people) == []
    assert group_keys(train, y, ["nr"], held_out=new_people.iloc[:0]) == ["nr"]  # no rows: nothing to check


def test_a_sample_of_a_large_table_keeps_each_drawn_group_whole(monkeypatch):
    from regress_core.data import group_keys as module

    monkeypatch.setattr(module, "MAX_ROWS", 100)
    values = np.repeat(np.arange(100.0), 4)
    rows = module._whole_groups(values)
    drawn = np.unique(values[rows])
    assert 0 < len(drawn) < 100
    assert len(rows) == 4 * len(drawn)  # every row of every drawn group


def test_integers_beyond_exact_floats_are_not_keys():
    values = 2.0**60 + np.repeat(np.arange(50.0), 4) * 2**10
    y = np.random.default_rng(0).normal(size=len(values))
    assert group_key_gains(pd.DataFrame({"hash": values}), y, ["hash"]) == {}
