"""Date and date-time columns in the data contract: inference, YAML, description and validation."""

import numpy as np
import pandas as pd
import pytest

from regress_core.data.contract import (
    ColumnSpec,
    DataContract,
    describe_contract,
    dump_contract,
    infer_contract,
    load_contract,
)
from regress_core.data.validation import validate_frame
from regress_core.errors import DataError


def dated(n_rows: int = 30) -> pd.DataFrame:
    days = pd.date_range("2023-12-25", periods=n_rows, freq="D")
    return pd.DataFrame(
        {
            "day": days.strftime("%Y-%m-%d"),
            "seen": (days + pd.Timedelta(hours=7, minutes=30)).strftime("%Y-%m-%dT%H:%M:%S"),
            "zip": [f"{2134 + i % 3:05d}-{i % 7:04d}" for i in range(n_rows)],
            "code": [f"{98100 + i}" for i in range(n_rows)],  # zip codes as text: numbers, not dates
            "stamp": 20240101 + np.arange(n_rows),  # a yyyymmdd number stays a number
            "y": np.arange(n_rows, dtype="float64"),
        }
    )


def kinds(contract: DataContract) -> dict[str, str]:
    return {column.name: column.kind for column in contract.columns}


def test_iso_dates_and_date_times_are_inferred_as_datetime():
    contract = infer_contract(dated(), target="y")
    assert kinds(contract) == {
        "day": "datetime",
        "seen": "datetime",
        "zip": "categorical",
        "code": "numeric",
        "stamp": "numeric",
        "y": "numeric",
    }
    assert contract.names_of("datetime") == ["day", "seen"]


def test_typed_date_columns_are_datetime_zoned_or_not():
    df = dated().assign(
        day=lambda d: pd.to_datetime(d.day),
        seen=lambda d: pd.to_datetime(d.seen).dt.tz_localize("Europe/Berlin"),
        born=lambda d: pd.to_datetime(d.day).dt.date,  # Python dates, as a Parquet date32 column reads
    )
    assert kinds(infer_contract(df, target="y"))["born"] == "datetime"
    assert set(infer_contract(df, target="y").names_of("datetime")) == {"day", "seen", "born"}


def test_mostly_garbage_and_non_iso_text_are_not_dates():
    df = dated()
    df["note"] = ["see 2024-01-02" if i % 3 else "2024-01-02" for i in range(len(df))]
    df["us_day"] = pd.to_datetime(df.day).dt.strftime("%m/%d/%Y")
    df["month"] = pd.to_datetime(df.day).dt.strftime("%Y-%m")
    found = kinds(infer_contract(df, target="y"))
    assert (found["note"], found["us_day"], found["month"]) == ("categorical", "categorical", "categorical")


def test_a_mostly_date_column_with_stray_text_is_refused_with_the_tokens():
    df = dated()
    df.loc[[3, 4], "day"] = "unknown"
    with pytest.raises(DataError, match=r"column 'day' holds ISO dates and stray text such as 'unknown' \(2 rows"):
        infer_contract(df, target="y")


def test_dates_written_in_two_shapes_are_refused():
    df = dated()
    df.loc[:4, "day"] = df.loc[:4, "seen"]
    with pytest.raises(DataError, match=r"column 'day' holds ISO dates and stray text such as '2023-12-25T07:30:00'"):
        infer_contract(df, target="y")


def test_blank_dates_make_a_nullable_datetime_column():
    df = dated()
    df.loc[2, "day"] = None
    assert infer_contract(df, target="y").column("day").nullable


def test_datetime_columns_round_trip_through_yaml_and_are_described(tmp_path):
    contract = infer_contract(dated(), target="y")
    path = tmp_path / "contract.yaml"
    path.write_text(dump_contract(contract))
    assert "kind: datetime" in path.read_text()
    assert load_contract(path) == contract
    assert "datetime day, seen (as year, month, day of week, day of year, hour where times are set, " in (
        describe_contract(contract)
    )


def test_a_datetime_column_takes_no_range():
    with pytest.raises(ValueError, match="min and max apply to numeric columns only"):
        ColumnSpec(name="day", kind="datetime", min=0)


def test_validation_passes_good_dates_and_names_a_bad_one():
    df = dated()
    contract = infer_contract(df, target="y")
    assert validate_frame(df, contract).success
    assert validate_frame(df.assign(day=pd.to_datetime(df.day)), contract).success  # Parquet timestamps
    df.loc[5, "seen"] = "31/12/2023"
    report = validate_frame(df, contract)
    assert not report.success
    assert report.summary() == (
        "1 of 23 expectations failed: seen: values must be ISO dates or date-times, "
        "such as 2024-01-31 or 2024-01-31 08:00:00 (1 of 30 rows) (e.g. '31/12/2023')"
    )


def test_validation_refuses_blank_dates_where_not_nullable():
    df = dated()
    contract = infer_contract(df, target="y")
    df.loc[1, "day"] = None
    assert "day: values must not be blank (1 of 30 rows)" in validate_frame(df, contract).summary()


def test_tokens_declared_missing_count_as_blank_dates():
    df = dated()
    df.loc[[3, 4], "day"] = "unknown"
    contract = DataContract(
        target="y",
        missing_tokens=["unknown"],
        columns=[ColumnSpec(name="day", kind="datetime", nullable=True), ColumnSpec(name="y")],
    )
    assert validate_frame(df[["day", "y"]], contract).success
