"""Prediction intervals in scoring output: the bounds, their level, every kind of output, and what is refused."""

import dataclasses
import io
from datetime import date

import fsspec
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError

from regress_core.config import ScoringConfig
from regress_core.errors import ConfigError, RegistryError
from regress_core.scoring.ledger import LedgerEntry, ScoringLedger, check_ledger, entry_for, output_key
from regress_core.scoring.partitions import combine_partitions, plan_scoring, score_partition
from regress_core.scoring.sql_io import write_sql_predictions
from regress_core.scoring.streaming import score
from tests.helpers import scoring_input, write_row_groups


@pytest.fixture
def rows(tmp_path):
    df = scoring_input(300)
    df.to_parquet(tmp_path / "in.parquet", index=False)
    return str(tmp_path / "in.parquet")


def metadata(path):
    return {key.decode(): value.decode() for key, value in pq.read_metadata(path).metadata.items()}


def test_bounds_surround_each_prediction_and_widen_with_the_level(tmp_path, package, rows):
    plain = score(package, input_location=rows, output=str(tmp_path / "plain.parquet"), keep=["id"])
    own = score(package, input_location=rows, output=str(tmp_path / "own.parquet"), keep=["id"], interval="model")
    narrow = score(package, input_location=rows, output=str(tmp_path / "narrow.parquet"), interval=0.6)
    out = pq.read_table(tmp_path / "own.parquet")
    assert out.column_names == ["id", "prediction", "lower", "upper"]
    assert {out.schema.field(name).type for name in ("prediction", "lower", "upper")} == {out.schema.field(1).type}
    frame, low = out.to_pandas(), pd.read_parquet(tmp_path / "narrow.parquet")
    np.testing.assert_array_equal(frame["prediction"], pd.read_parquet(tmp_path / "plain.parquet")["prediction"])
    assert (frame["lower"] < frame["prediction"]).all()
    assert (frame["prediction"] < frame["upper"]).all()
    assert ((low["upper"] - low["lower"]) < (frame["upper"] - frame["lower"])).all()
    expected_lower, expected_upper = package.interval_calibration().bounds(frame["prediction"].to_numpy())
    np.testing.assert_allclose(frame["lower"], expected_lower, rtol=1e-12)
    np.testing.assert_allclose(frame["upper"], expected_upper, rtol=1e-12)
    # The version's own level (model.interval, 0.9) is recorded, as the summary's.
    assert (own.interval, narrow.interval, plain.interval) == (0.9, 0.6, None)
    assert metadata(tmp_path / "own.parquet")["regress.interval"] == "0.90"
    assert "regress.interval" not in metadata(tmp_path / "plain.parquet")


@pytest.mark.parametrize(
    ("level", "message"),
    [
        (0.999, "no interval at level 0.999: this version holds levels 0.50 to 0.99 in steps of 0.01 and its own 0.90"),
        (0.99, "an interval at level 0.99 needs at least 99 validation rows; this version was calibrated on"),
    ],
)
def test_a_level_the_version_cannot_give_is_refused_before_anything_is_read(tmp_path, package, level, message):
    with pytest.raises(ConfigError, match="^" + message.replace(".", r"\.")):
        score(
            package,
            input_location=str(tmp_path / "not-there.parquet"),
            output=str(tmp_path / "out.parquet"),
            interval=level,
        )
    assert list(tmp_path.iterdir()) == []


def test_a_version_published_before_intervals_is_refused(tmp_path, package, rows):
    older = dataclasses.replace(package, intervals=None)
    with pytest.raises(RegistryError) as caught:
        score(older, input_location=rows, output=str(tmp_path / "out.parquet"), interval="model")
    assert str(caught.value) == (
        f"model {package.name}@{package.version} holds no prediction intervals (it was published before regress "
        "calibrated them): train a new version to score with --interval"
    )
    assert not (tmp_path / "out.parquet").exists()
    score(older, input_location=rows, output=str(tmp_path / "out.parquet"))  # without intervals it still scores


def test_kept_columns_named_lower_or_upper_are_refused_only_with_intervals(tmp_path, package):
    df = scoring_input(20).assign(lower=1.0)
    df.to_parquet(tmp_path / "in.parquet", index=False)
    options = {"input_location": str(tmp_path / "in.parquet"), "keep": ["id", "lower"]}
    message = (
        "an input column named 'lower' cannot be kept with --interval: the output's own lower column has that name; "
        "rename it in the input"
    )
    with pytest.raises(ConfigError) as caught:
        score(package, output=str(tmp_path / "out.parquet"), interval=0.8, **options)
    assert str(caught.value) == message
    with pytest.raises(ValidationError, match=message):
        ScoringConfig(input="in.parquet", output="out.parquet", keep=["lower"], interval=0.8)
    score(package, output=str(tmp_path / "out.parquet"), **options)
    assert pd.read_parquet(tmp_path / "out.parquet")["lower"].eq(1.0).all()


def test_the_level_is_a_number_between_zero_and_one_or_the_versions_own():
    base = {"input": "in.parquet", "output": "out.parquet"}
    assert ScoringConfig(**base, interval="model").interval == "model"
    assert ScoringConfig(**base, interval="0.8").interval == 0.8
    with pytest.raises(ValidationError, match=r"an interval's level is between 0 and 1 \(such as 0.9\), got 1.5"):
        ScoringConfig(**base, interval=1.5)


def test_partitions_and_object_storage_and_dated_outputs_carry_the_bounds(tmp_path, package, memory_url):
    source = str(write_row_groups(scoring_input(600), tmp_path / "grouped.parquet", [300, 300]))
    options = {"keep": ["id"], "batch_rows": 64, "partition_rows": 300}
    local = score(package, input_location=source, output=str(tmp_path / "local.parquet"), interval=0.8, **options)
    plan = plan_scoring(
        input_location=source,
        output=f"{memory_url}/out/pred.parquet",
        contract=package.contract,
        on_invalid="fail",
        as_of=date(2026, 12, 1),
        interval=0.8,
        **options,
    )
    summary = combine_partitions(package, plan, [score_partition(package, plan, i) for i in range(len(plan.ranges))])
    with fsspec.open(summary.output_path, "rb") as handle:
        payload = io.BytesIO(handle.read())
    remote, recorded = pq.read_table(payload), metadata(payload)
    assert remote.equals(pq.read_table(local.output_path))
    assert remote.column_names == ["id", "prediction", "lower", "upper"]
    assert (recorded["regress.as_of"], recorded["regress.interval"], summary.interval) == ("2026-12-01", "0.80", 0.8)


def test_an_sql_table_without_the_bounds_is_refused_with_one_line(tmp_path):
    url = f"sqlite:///{tmp_path / 'preds.db'}"
    write_sql_predictions(url, "predictions", pd.DataFrame({"id": [1], "prediction": [2.0]}), "2026-12-01")
    bounded = pd.DataFrame({"id": [1], "prediction": [2.0], "lower": [1.0], "upper": [3.0]})
    with pytest.raises(ConfigError) as caught:
        write_sql_predictions(url, "predictions", bounded, "2026-12-02")
    assert str(caught.value) == (
        f"table predictions in {url} has another schema: it lacks lower, upper (--interval adds lower and upper); "
        "write to another --table or drop that one"
    )


def test_the_ledger_tells_a_day_scored_with_intervals_from_one_without(tmp_path, package, rows):
    ledger = ScoringLedger(tmp_path / "scoring")
    output = str(tmp_path / "out.parquet")
    summary = score(package, input_location=rows, output=output, interval=0.8)
    ledger.record(entry_for(summary, date(2026, 12, 1)))
    ask = {"output": output, "model": package.name, "model_version": package.version, "day": date(2026, 12, 1)}
    assert check_ledger(ledger, **ask, files=[rows], interval=0.8).skipped is not None
    assert check_ledger(ledger, **ask, files=[rows]).skipped is None
    assert check_ledger(ledger, **ask, files=[rows], interval=0.9).skipped is None
    older = LedgerEntry("2026-12-01", output_key(output), package.name, package.version, summary.input_sha256)
    assert older.interval is None  # an entry written before intervals reads as a job without them
