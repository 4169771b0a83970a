"""Categorical columns of many categories are target-encoded, cross-fitted on the training rows."""

import numpy as np
import pandas as pd
import pytest

from regress_core.data.contract import infer_contract
from regress_core.data.preprocessing import ONE_HOT_MAX_CATEGORIES, Preprocessor
from regress_core.data.preprocessor_io import load_preprocessor, save_preprocessor


def teams(n_rows=600, n_teams=60, seed=0):
    """A target that is mostly its team's level, plus a few-valued category and a number."""
    rng = np.random.default_rng(seed)
    levels = rng.normal(0, 3, n_teams)
    team = rng.integers(0, n_teams, n_rows)
    x = rng.normal(size=n_rows)
    return pd.DataFrame(
        {
            "team": [f"team {i}" for i in team],
            "side": rng.choice(["home", "away"], n_rows),
            "x": x,
            "y": levels[team] + x + rng.normal(0, 0.3, n_rows),
        }
    )


def test_many_categories_become_one_target_encoded_input_and_few_stay_one_hot():
    df = teams()
    contract = infer_contract(df, target="y")
    assert len(contract.column("team").categories) == 60 > ONE_HOT_MAX_CATEGORIES
    pre = Preprocessor(contract=contract, scaler="quantile")
    views = pre.fit_transform_views(df)
    names = pre.feature_names_out()
    assert names == ["numeric__x", "categorical__side_away", "categorical__side_home", "target_encoded__team"]
    assert views["configured"].shape == views["standard"].shape == (600, 4)
    assert pre.indicator_columns() == [1, 2]  # the encoding is a number, not a 0/1 flag
    # New rows of a team get the team's level: the encoding orders the teams as their levels do.
    encoded = pre.transform_features(df, view="standard")[:, 3]
    per_team = pd.Series(encoded).groupby(df.team).mean()
    level = df.groupby("team").y.mean()
    assert np.corrcoef(per_team, level.loc[per_team.index])[0, 1] > 0.95


def test_training_rows_are_encoded_out_of_fold_not_with_their_own_target():
    # Every team has 2 rows and pure-noise targets: an encoding that saw a row's own target
    # would predict it; cross-fitted encodings do not.
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"team": [f"t{i // 2}" for i in range(400)], "y": rng.normal(size=400)})
    pre = Preprocessor(contract=infer_contract(df, target="y"), scaler="standard")
    out_of_fold = pre.fit_transform_views(df)["standard"][:, 0]
    in_fold = pre.transform_features(df, view="standard")[:, 0]
    assert np.corrcoef(in_fold, df.y)[0, 1] > 0.5
    assert abs(np.corrcoef(out_of_fold, df.y)[0, 1]) < 0.2


def test_unseen_categories_get_the_training_mean_are_counted_and_survive_saving(tmp_path):
    df = teams()
    pre = Preprocessor(contract=infer_contract(df, target="y"), scaler="quantile").fit(df)
    loaded = load_preprocessor(save_preprocessor(pre, tmp_path / "preprocessor.skops"))
    new = df.head(3).assign(team=["team 999", "team 1", "team 998"], side=["home", "home", "sideways"])
    assert loaded.count_unseen(new) == {"team": 2, "side": 1}
    np.testing.assert_array_equal(loaded.transform_features(new), pre.transform_features(new))
    unseen = loaded.transform_features(new, view="standard")
    assert unseen[0, 3] == pytest.approx(unseen[2, 3])  # both unseen teams: the same encoding


def test_repeated_fits_encode_alike():
    df = teams()
    first = Preprocessor(contract=infer_contract(df, target="y")).fit_transform_views(df)["configured"]
    second = Preprocessor(contract=infer_contract(df, target="y")).fit_transform_views(df)["configured"]
    np.testing.assert_array_equal(first, second)


def cars(n_rows=400, seed=0):
    """Car names whose first word (the make) sets most of the target; every name a few words."""
    rng = np.random.default_rng(seed)
    makes = {"chevrolet": 15.0, "toyota": 30.0, "ford": 18.0, "honda": 32.0, "buick": 14.0}
    models = [f"model {chr(97 + i)}{j}" for i in range(26) for j in range(3)]
    make = rng.choice(list(makes), n_rows)
    names = [f"{m} {rng.choice(models)}" for m in make]
    return pd.DataFrame({"name": names, "y": [makes[m] for m in make] + rng.normal(0, 1, n_rows)})


def test_a_many_category_column_of_words_also_gives_text_features_that_survive_saving(tmp_path):
    df = cars()
    contract = infer_contract(df, target="y")
    assert len(contract.column("name").categories) > ONE_HOT_MAX_CATEGORIES
    pre = Preprocessor(contract=contract, scaler="quantile").fit(df)
    names = pre.feature_names_out()
    text = [index for index, name in enumerate(names) if name.startswith("text0__name_text")]
    assert names[0] == "target_encoded__name"
    assert 2 <= len(text) <= 16
    # A name never seen in training still gets its make's features: the n-grams carry it.
    new = pd.DataFrame({"name": ["toyota unseen", "chevrolet unseen"], "y": [0.0, 0.0]})
    features = pre.transform_features(new, view="standard")[:, text]
    toyota = pre.transform_features(df[df.name.str.startswith("toyota")], view="standard")[:, text].mean(axis=0)
    chevrolet = pre.transform_features(df[df.name.str.startswith("chev")], view="standard")[:, text].mean(axis=0)
    assert np.linalg.norm(features[0] - toyota) < np.linalg.norm(features[0] - chevrolet)
    loaded = load_preprocessor(save_preprocessor(pre, tmp_path / "preprocessor.skops"))
    np.testing.assert_array_equal(loaded.transform_features(new), pre.transform_features(new))


def test_codes_and_a_blank_are_not_read_as_text():
    from regress_core.data.text_features import reads_as_text

    assert not reads_as_text(pd.Series(["t1", "t2", None]))
    assert reads_as_text(pd.Series(["new york", "los angeles", None]))
    assert not reads_as_text(pd.Series([None, None], dtype=object))


def test_text_features_reuse_their_vectorizer_between_batches_and_a_refit_replaces_it():
    from regress_core.data.text_features import TextFeatures

    first = pd.DataFrame({"name": ["ford pinto", "ford torino", "toyota corolla", "toyota corona"] * 10})
    other = pd.DataFrame({"name": ["audi fox", "audi 100", "saab 99e", "saab 99le"] * 10})
    features = TextFeatures().fit(first)
    whole = features.transform(first)
    batches = np.vstack([features.transform(first.iloc[:20]), features.transform(first.iloc[20:])])
    np.testing.assert_array_equal(batches, whole)
    features.fit(other)  # the same object, fitted again: its new vocabulary, not the cached one
    np.testing.assert_array_equal(features.transform(other), TextFeatures().fit(other).transform(other))
    assert not np.array_equal(features.transform(first), whole)
