import pandas as pd
import pytest
from sklearn.model_selection import train_test_split

from regress_core.data.sources import load_source
from regress_core.data.split import split_frame
from regress_core.errors import DataError


def test_test_part_equals_the_classic_notebook_split():
    df = load_source("california_housing")
    parts = split_frame(df, test_size=0.2, val_size=0.1, seed=42)
    _, expected_test = train_test_split(df, test_size=0.2, random_state=42)
    pd.testing.assert_frame_equal(parts.test, expected_test)
    assert len(parts.test) == 4128
    assert len(parts.train) + len(parts.val) == 16512


def test_parts_are_disjoint_and_complete(table):
    parts = split_frame(table, test_size=0.2, val_size=0.25, seed=1)
    indexes = [set(p.index) for p in (parts.train, parts.val, parts.test)]
    assert set.union(*indexes) == set(table.index)
    assert sum(len(i) for i in indexes) == len(table)


def test_same_seed_same_split_other_seed_other_split(table):
    first = split_frame(table, test_size=0.2, val_size=0.1, seed=3)
    again = split_frame(table, test_size=0.2, val_size=0.1, seed=3)
    other = split_frame(table, test_size=0.2, val_size=0.1, seed=4)
    assert list(first.test.index) == list(again.test.index)
    assert list(first.val.index) == list(again.val.index)
    assert list(first.test.index) != list(other.test.index)


def test_too_few_rows_is_refused(table):
    with pytest.raises(DataError, match="too few rows to split: 5 rows"):
        split_frame(table.head(5), test_size=0.2, val_size=0.1, seed=0)
