import numpy as np
import pytest

from regress_core.data.contract import ColumnSpec, DataContract
from regress_core.data.sources import default_contract, load_source
from regress_core.data.validation import validate_frame


@pytest.fixture(scope="module")
def contract():
    return DataContract(
        name="t",
        target="y",
        min_rows=10,
        columns=[ColumnSpec(name="a", min=0, max=10), ColumnSpec(name="b", nullable=True), ColumnSpec(name="y")],
    )


def summary(df, contract):
    report = validate_frame(df, contract)
    assert not report.success
    return report.summary()


def test_bundled_dataset_passes_its_shipped_contract(tmp_path):
    report = validate_frame(
        load_source("california_housing"), default_contract("california_housing"), docs_dir=tmp_path / "docs"
    )
    assert report.success, report.summary()
    assert report.docs_path.is_file()


def test_good_sample_passes(table, contract):
    assert validate_frame(table, contract).success


def test_out_of_range_values_are_named_with_examples(table, contract):
    table.loc[[3, 4], "a"] = [11.5, -2.0]
    assert "a: values must be finite and between 0 and 10 (2 of 120 rows) (e.g. 11.5, -2.0)" in summary(table, contract)


def test_infinity_fails_finiteness(table, contract):
    table.loc[0, "y"] = np.inf
    assert "y: values must be finite (1 of 120 rows) (e.g. inf)" in summary(table, contract)


def test_blanks_fail_only_where_not_nullable(table, contract):
    table.loc[1, "b"] = np.nan
    assert validate_frame(table, contract).success
    table.loc[2, "y"] = np.nan
    assert "y: values must not be blank (1 of 120 rows)" in summary(table, contract)


def test_text_in_a_numeric_column(table, contract):
    table["a"] = table["a"].astype(object)
    table.loc[5, "a"] = "n/a"
    assert "a: values must be numeric (1 of 120 rows) (e.g. 'n/a')" in summary(table, contract)


def test_missing_and_extra_columns(table, contract):
    text = summary(table.drop(columns="b").assign(c=1.0), contract)
    assert "missing columns b" in text
    assert "unexpected columns c" in text


def test_too_few_rows(table, contract):
    assert "table has 5 rows, needs at least 10" in summary(table.head(5), contract)


def test_failed_validation_writes_data_docs(tmp_path, table, contract):
    table.loc[0, "a"] = 99.0
    report = validate_frame(table, contract, docs_dir=tmp_path / "docs")
    assert not report.success
    assert report.docs_path.is_file()
    assert list((tmp_path / "docs" / "validations").rglob("*.html"))
