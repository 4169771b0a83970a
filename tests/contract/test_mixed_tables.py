"""Ordinary messy tables: ids, categories and blanks inferred, trained on and scored."""

import numpy as np
import pandas as pd
import pytest

from regress_core.data.contract import infer_contract, normalize_frame
from regress_core.data.preprocessing import Preprocessor
from regress_core.data.validation import validate_frame
from regress_core.errors import DataError
from tests.helpers import make_mixed_table


@pytest.fixture
def mixed():
    return make_mixed_table()


def test_inference_finds_ids_categories_and_blanks(mixed):
    contract = infer_contract(mixed, target="price")
    kinds = {c.name: (c.kind, c.nullable) for c in contract.columns}
    assert kinds == {
        "listing_id": ("identifier", False),
        "size": ("numeric", False),
        "city": ("categorical", False),
        "age": ("numeric", True),
        "price": ("numeric", False),
    }
    assert contract.column("city").categories == ["east", "north", "south"]
    assert contract.feature_names == ["size", "city", "age"]
    assert validate_frame(mixed, contract).success


def test_numeric_id_column_is_an_identifier(table):
    table.insert(0, "customer_id", range(len(table)))
    assert infer_contract(table, target="y").column("customer_id").kind == "identifier"


def test_preprocessing_imputes_flags_and_one_hot_encodes(mixed):
    contract = infer_contract(mixed, target="price")
    pre = Preprocessor(contract=contract).fit(mixed)
    x = pre.transform_features(mixed)
    assert x.shape == (300, 1 + 1 + 1 + 3)  # size, age, age-missing flag, three cities
    assert not np.isnan(x).any()


def test_unseen_categories_and_blanks_score_and_are_counted(mixed):
    contract = infer_contract(mixed, target="price")
    pre = Preprocessor(contract=contract).fit(mixed)
    new = mixed.head(4).assign(city=["west", "north", "west", "south"], age=[np.nan, 1.0, np.nan, 2.0])
    assert pre.transform_features(new).shape == (4, 6)
    assert pre.count_unseen(new) == {"city": 2}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d.assign(size=d["size"].astype(object).where(d.index != 7, "n/a")),
            "column 'size' holds numbers and stray text such as 'n/a' (1 rows)",
        ),
        (lambda d: d.assign(price="expensive"), "target column 'price' is not numeric (values such as 'expensive')"),
        (lambda d: d.assign(price=d.price.where(d.index != 3)), "target column 'price' has 1 blank values"),
    ],
)
def test_inference_refuses_what_is_truly_broken(mixed, change, message):
    with pytest.raises(DataError) as caught:
        infer_contract(change(mixed), target="price")
    assert message in str(caught.value)


def test_declared_missing_tokens_are_blanks(mixed):
    contract = infer_contract(mixed, target="price").model_copy(update={"missing_tokens": ["n/a"]})
    dirty = mixed.assign(age=mixed.age.astype(object).where(mixed.index != 5, "n/a"))
    assert pd.isna(normalize_frame(dirty, contract).loc[5, "age"])
    assert validate_frame(dirty, contract).success


def test_infinity_is_still_an_error(mixed):
    contract = infer_contract(mixed, target="price")
    report = validate_frame(mixed.assign(size=mixed["size"].where(mixed.index != 2, np.inf)), contract)
    assert "size: values must be finite" in report.summary()
