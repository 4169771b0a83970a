"""Robust scaling with smooth clipping keeps the bulk of a column linear and bends its outliers."""

import numpy as np
import pandas as pd
import pytest

from regress_core.data.clipping import CLIP, RobustSmoothClip
from regress_core.data.contract import infer_contract
from regress_core.data.preprocessing import Preprocessor
from regress_core.data.preprocessor_io import load_preprocessor, save_preprocessor


def test_the_bulk_stays_nearly_linear_and_sentinels_are_bent_below_the_clip():
    rng = np.random.default_rng(0)
    price = rng.normal(200, 50, 1000)
    price[:5] = 999_999.0  # "unknown" written as a sentinel
    out = RobustSmoothClip().fit(price.reshape(-1, 1)).transform(price.reshape(-1, 1))[:, 0]
    assert np.all(np.abs(out) < CLIP)
    assert out[:5] == pytest.approx([out[0]] * 5)
    assert out[0] > 2.9
    bulk = (price > 150) & (price < 250)
    assert np.corrcoef(price[bulk], out[bulk])[0, 1] > 0.99  # distances in the middle survive
    assert abs(np.median(out)) < 0.01


def test_flat_columns_fall_back_to_the_half_range_or_become_zero_and_blanks_stay_blank():
    x = np.array([[0.0, 5.0, 1.0], [0.0, 5.0, np.nan], [0.0, 5.0, 2.0], [0.0, 5.0, 2.5], [1.0, 5.0, 3.0]])
    out = RobustSmoothClip().fit(x).transform(x)
    assert out[4, 0] == pytest.approx(2 / np.sqrt(1 + (2 / 3) ** 2))  # quartiles agree: half the range, 0.5
    assert np.all(out[:, 1] == 0)  # constant
    assert np.isnan(out[1, 2])


def test_it_is_a_scaler_of_the_preprocessor_and_survives_saving(tmp_path):
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"a": rng.lognormal(size=300), "b": rng.normal(size=300)})
    df["y"] = df.a + df.b
    pre = Preprocessor(contract=infer_contract(df, target="y"), scaler="robust_clip").fit(df)
    loaded = load_preprocessor(save_preprocessor(pre, tmp_path / "preprocessor.skops"))
    np.testing.assert_array_equal(loaded.transform_features(df), pre.transform_features(df))
    assert np.all(np.abs(pre.transform_features(df)) < CLIP)
    assert pre.feature_names_out() == ["numeric__a", "numeric__b"]


def test_the_default_preset_scales_the_networks_inputs_this_way():
    from regress_core.config import build_config
    from regress_core.data.preprocessing import build_scaler

    assert build_config().features.scaler == "robust_clip"
    assert build_scaler("robust_clip", n_rows=10).__class__ is RobustSmoothClip
