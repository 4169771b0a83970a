"""Date columns as model inputs: parsing, derived parts, the fitted preprocessor and scoring checks."""

import numpy as np
import pandas as pd
import pytest

from regress_core.data.contract import infer_contract
from regress_core.data.date_parts import DateParts
from regress_core.data.dates import parse_dates, to_days
from regress_core.data.preprocessing import Preprocessor
from regress_core.data.preprocessor_io import load_preprocessor, save_preprocessor, untrusted_types
from regress_core.scoring.checks import check_batch


def dated_table(n_rows: int = 60, *, seed: int = 0) -> pd.DataFrame:
    """Daily rows whose target follows the season, plus a nullable date-time column and a number."""
    rng = np.random.default_rng(seed)
    days = pd.date_range("2022-01-01", periods=n_rows, freq="5D")
    seen = days + pd.to_timedelta(rng.integers(0, 24, n_rows), unit="h")
    df = pd.DataFrame(
        {
            "day": days.strftime("%Y-%m-%d"),
            "seen": pd.Series(seen.strftime("%Y-%m-%d %H:%M:%S")).where(np.arange(n_rows) % 9 != 4),
            "x": rng.normal(size=n_rows),
        }
    )
    df["y"] = np.sin(2 * np.pi * days.dayofyear / 365.25) + 0.1 * df.x
    return df


def test_parts_of_known_dates():
    dates = pd.DataFrame({"when": ["2024-01-31", "2024-03-01 06:30:00", "2023-12-31T23:00:00Z", None]})
    parts = DateParts().fit(dates.iloc[:3])
    assert parts.get_feature_names_out().tolist() == [
        "when_year",
        "when_month",
        "when_day_of_week",
        "when_day_of_year",
        "when_hour",
        "when_days_since",
    ]
    out = parts.transform(dates)
    np.testing.assert_allclose(out[0], [2024, 1, 2, 31, 0, 31])  # a Wednesday; 2023-12-31 is day 0
    np.testing.assert_allclose(out[1], [2024, 3, 4, 61, 6.5, 61 + 6.5 / 24])  # a leap year's Friday
    np.testing.assert_allclose(out[2], [2023, 12, 6, 365, 23, 23 / 24])
    assert np.isnan(out[3]).all()


def test_hour_is_derived_only_where_times_of_day_are_set():
    midnight = pd.DataFrame({"d": ["2024-01-01", "2024-01-02T00:00:00"]})
    assert DateParts().fit(midnight).get_feature_names_out().tolist() == [
        "d_year",
        "d_month",
        "d_day_of_week",
        "d_day_of_year",
        "d_days_since",
    ]


def test_later_rows_count_days_from_the_fitting_rows_first_day():
    parts = DateParts().fit(pd.DataFrame({"d": ["2024-01-10", "2024-01-20"]}))
    out = parts.transform(pd.DataFrame({"d": ["2024-01-01", "2025-01-10"]}))
    assert out[:, -1].tolist() == [-9, 366]


def test_parsing_reads_iso_text_typed_dates_and_offsets_and_refuses_the_rest():
    text = pd.Series(["2024-01-31T10:00:00+02:00", "2024-02-30", "01/02/2024", "20240102", "soon", None])
    parsed = parse_dates(text)
    assert parsed[0] == pd.Timestamp("2024-01-31 08:00")  # offsets are read as UTC
    assert parsed[1:].isna().all()
    zoned = pd.Series(pd.to_datetime(["2024-06-01 12:00"]).tz_localize("Europe/Berlin"))
    assert parse_dates(zoned)[0] == pd.Timestamp("2024-06-01 10:00")
    python_dates = pd.Series(pd.to_datetime(["2024-06-01"]).date, dtype=object)
    assert to_days(python_dates).tolist() == [19875.0]


def test_preprocessor_with_dates_saves_loads_and_reads_text_and_timestamps_alike(tmp_path):
    train = dated_table()
    contract = infer_contract(train, target="y")
    assert contract.names_of("datetime") == ["day", "seen"]
    for scaler in ("quantile", "standard"):
        fitted = Preprocessor(contract=contract, scaler=scaler).fit(train)
        path = save_preprocessor(fitted, tmp_path / f"{scaler}.skops")
        assert untrusted_types(path) == []
        loaded = load_preprocessor(path)
        timestamps = train.assign(day=pd.to_datetime(train.day), seen=pd.to_datetime(train.seen))
        for view in ("configured", "standard"):
            expected = fitted.transform_features(train, view=view)
            assert np.isfinite(expected).all()
            np.testing.assert_array_equal(loaded.transform_features(train, view=view), expected)
            np.testing.assert_array_equal(loaded.transform_features(timestamps, view=view), expected)
    names = loaded.feature_names_out()
    assert "missing_flags__missingindicator_seen" in names
    assert "datetime__seen_hour" in names
    assert "datetime__day_hour" not in names
    assert "datetime__day_days_since" in names


def test_scoring_checks_name_a_date_that_does_not_parse_and_a_blank_one():
    train = dated_table()
    contract = infer_contract(train, target="y")
    batch = train.drop(columns="y").head(4).astype({"day": object})
    batch.loc[1, "day"] = "31/01/2022"
    batch.loc[2, "day"] = None
    batch.loc[3, "seen"] = "later"
    checked = check_batch(batch, contract)
    assert checked.valid.tolist() == [True, False, False, False]
    assert checked.first_problems() == (
        "row 1: day is not an ISO date or date-time; row 2: day is blank; row 3: seen is not an ISO date or date-time"
    )
    assert checked.numeric.day[0] == pd.Timestamp("2022-01-01")


@pytest.fixture(scope="module")
def dated_package(tmp_path_factory):
    """A model trained with the core on a CSV of dates, as `regress train --data FILE.csv --target y` does."""
    from regress_core.config import build_config
    from regress_core.pipeline.run import train_pipeline
    from regress_core.registry.package import load_package
    from tests.helpers import fast_config, model_registry

    home = tmp_path_factory.mktemp("dated")
    dated_table(120).to_csv(home / "train.csv", index=False)
    train_pipeline(build_config(values=fast_config(str(home), data={"source": str(home / "train.csv"), "target": "y"})))
    registry = model_registry(str(home))
    return load_package(registry, registry.champion())


def test_a_model_on_dates_scores_csv_text_and_parquet_timestamps_alike(tmp_path, dated_package):
    from regress_core.scoring.streaming import score

    assert dated_package.contract.names_of("datetime") == ["day", "seen"]
    rows = dated_table(30, seed=3).drop(columns="y")
    rows.to_csv(tmp_path / "in.csv", index=False)
    rows.assign(day=pd.to_datetime(rows.day), seen=pd.to_datetime(rows.seen)).to_parquet(tmp_path / "in.parquet")
    for name in ("in.csv", "in.parquet"):
        score(
            dated_package,
            input_location=str(tmp_path / name),
            output=str(tmp_path / f"{name}.out.parquet"),
            keep=["day"],
        )
    from_csv, from_parquet = (pd.read_parquet(tmp_path / f"{name}.out.parquet") for name in ("in.csv", "in.parquet"))
    np.testing.assert_array_equal(from_csv.prediction, from_parquet.prediction)
    assert from_csv.day.tolist() == pd.to_datetime(rows.day).tolist()


def test_a_date_that_does_not_parse_fails_the_job_or_is_dropped(tmp_path, dated_package):
    from regress_core.errors import DataValidationError
    from regress_core.scoring.streaming import score

    rows = dated_table(30, seed=3).drop(columns="y")
    rows.loc[4, "day"] = "2022-02-30"
    rows.to_csv(tmp_path / "bad.csv", index=False)
    output = str(tmp_path / "out.parquet")
    with pytest.raises(
        DataValidationError, match=r"1 rows in .*bad.csv break the data contract \(row 4: day is not an ISO date"
    ):
        score(dated_package, input_location=str(tmp_path / "bad.csv"), output=output)
    summary = score(dated_package, input_location=str(tmp_path / "bad.csv"), output=output, on_invalid="drop")
    assert (summary.rows_scored, summary.rows_rejected) == (29, 1)
    assert pd.read_parquet(summary.rejected_path).reason.tolist() == ["day is not an ISO date or date-time"]


# Append to tests/unit/test_dates.py once /tmp/h/dates-metrics.patch is applied (regress_core/evaluation/metrics.py).


def test_the_linear_baseline_reads_the_parts_of_dates():
    from regress_core.evaluation.metrics import baseline_metrics

    table = dated_table(120).drop(columns=["seen", "x"])  # a date is the only feature
    contract = infer_contract(table, target="y")
    baselines = baseline_metrics(table.iloc[:90], table.iloc[90:], contract=contract)
    assert baselines["linear_regression"]["r2"] > baselines["mean"]["r2"]
