import numpy as np
import pytest

from regress_core.data.contract import dump_contract, infer_contract, load_contract
from regress_core.errors import ConfigError, DataError


def test_inferred_contract_widens_observed_ranges(table):
    contract = infer_contract(table, target="y")
    a = contract.column("a")
    assert a.min == 0.0  # non-negative columns never get a negative floor
    assert a.max > table.a.max()
    assert contract.feature_names == ["a", "b"]
    assert contract.target == "y"
    assert not any(column.nullable for column in contract.columns)


def test_inferred_contract_marks_columns_with_blanks_nullable(table):
    table.loc[0, "b"] = np.nan
    assert infer_contract(table, target="y").column("b").nullable


def test_contract_round_trips_through_yaml(tmp_path, table):
    contract = infer_contract(table, target="y", name="t")
    path = tmp_path / "c.yaml"
    path.write_text(dump_contract(contract))
    assert load_contract(path) == contract


def test_infer_refuses_a_missing_target(table):
    with pytest.raises(DataError, match="target column 'z' not found"):
        infer_contract(table, target="z")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("target: y\ncolumns: [{name: a}]\n", "target 'y' is not among the columns"),
        ("target: a\ncolumns: [{name: a}, {name: a}]\n", "columns listed twice: a"),
        ("target: a\ncolumns: [{name: a, min: 2, max: 1}, {name: b}]\n", "min 2.0 is above max 1.0"),
        ("target: a\ncolumns: [{name: a, colour: red}, {name: b}]\n", "Extra inputs are not permitted"),
        ("target: a\ncolumns: [{name: a, min: .nan}, {name: b}]\n", "columns.0.min: Input should be a finite number"),
        ("target: a\ncolumns: [{name: a, max: .inf}, {name: b}]\n", "columns.0.max: Input should be a finite number"),
    ],
)
def test_bad_contract_files_are_reported(tmp_path, body, message):
    path = tmp_path / "c.yaml"
    path.write_text(body)
    with pytest.raises(ConfigError, match=message):
        load_contract(path)


def test_target_override_must_name_a_contract_column(table):
    contract = infer_contract(table, target="y")
    assert contract.for_target("a").feature_names == ["b", "y"]
    with pytest.raises(ConfigError, match="target column 'q' is not in the data contract"):
        contract.for_target("q")
