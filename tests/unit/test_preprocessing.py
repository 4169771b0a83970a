import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from regress_core.data.contract import ColumnSpec, DataContract
from regress_core.data.preprocessing import Preprocessor
from regress_core.errors import DataError

CONTRACT = DataContract(target="y", columns=[ColumnSpec(name="a"), ColumnSpec(name="b"), ColumnSpec(name="y")])


def test_scaler_is_fitted_on_train_rows_only(table):
    train, test = table.iloc[:80], table.iloc[80:].assign(a=lambda d: d.a + 100)
    pre = Preprocessor(contract=CONTRACT).fit(train)
    scaled_train = pre.transform_features(train)
    np.testing.assert_allclose(scaled_train.mean(axis=0), 0, atol=1e-5)
    assert pre.transform_features(test)[:, 0].mean() > 10  # the shift is not absorbed
    assert pre.target_mean_ == pytest.approx(train.y.mean())


@pytest.mark.parametrize("kind", ["standard", "quantile", "robust", "robust_clip", "none"])
def test_every_scaler_round_trips_the_target(table, kind):
    pre = Preprocessor(contract=CONTRACT, scaler=kind).fit(table)
    x = pre.transform_features(table)
    assert x.shape == (len(table), 2)
    assert x.dtype == np.float32
    np.testing.assert_allclose(pre.inverse_target(pre.transform_target(table.y)), table.y, rtol=1e-5, atol=1e-4)


def test_none_scaler_passes_features_through(table):
    pre = Preprocessor(contract=CONTRACT, scaler="none", scale_target=False).fit(table)
    np.testing.assert_allclose(pre.transform_features(table), table[["a", "b"]].to_numpy(), rtol=1e-6)
    assert pre.target_mean_ == 0
    assert pre.target_std_ == 1


def test_transform_before_fit_is_refused(table):
    with pytest.raises(NotFittedError, match="not fitted yet"):
        Preprocessor(contract=CONTRACT).transform_features(table)


def test_one_preprocessor_holds_the_configured_and_the_standard_view(table):
    pre = Preprocessor(contract=CONTRACT, scaler="quantile").fit(table)
    quantile, standard = pre.transform_features(table), pre.transform_features(table, view="standard")
    assert quantile.shape == standard.shape
    np.testing.assert_allclose(standard.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(standard.std(axis=0), 1, atol=1e-4)
    assert not np.allclose(quantile, standard)
    with pytest.raises(ValueError, match="view must be one of"):
        pre.transform_features(table, view="quantile")


def test_a_preprocessor_saved_before_views_existed_still_transforms(table):
    pre = Preprocessor(contract=CONTRACT, scaler="quantile").fit(table)
    del pre.standard_columns_
    assert pre.transform_features(table).shape == (len(table), 2)
    with pytest.raises(DataError, match="saved without a standard-scaled view"):
        pre.transform_features(table, view="standard")
