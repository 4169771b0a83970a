"""Scoring from and to object storage, on fsspec's in-memory filesystem (the same code path as S3)."""

import io

import fsspec
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from regress_core.errors import ConfigError, DataValidationError
from regress_core.objectstore import ObjectFolder
from regress_core.scoring.partitions import combine_partitions, plan_scoring, score_partition
from regress_core.scoring.streaming import score
from tests.helpers import scoring_input, write_row_groups


@pytest.fixture
def bucket(memory_url):
    return memory_url


def read_object(url):
    with fsspec.open(url, "rb") as handle:
        return pq.read_table(io.BytesIO(handle.read()))


def put_rows(url, df):
    with fsspec.open(url, "wb") as handle:
        df.to_parquet(handle, index=False)


def test_rows_in_object_storage_score_into_an_object_equal_to_a_local_run(tmp_path, package, bucket):
    rows = scoring_input()
    put_rows(f"{bucket}/in/rows.parquet", rows)
    rows.to_parquet(tmp_path / "rows.parquet", index=False)
    summary = score(
        package, input_location=f"{bucket}/in/rows.parquet", output=f"{bucket}/out/pred.parquet", keep=["id"]
    )
    local = score(package, input_location=str(tmp_path / "rows.parquet"), output=str(tmp_path / "pred.parquet"))
    assert summary.output_path == f"{bucket}/out/pred.parquet"
    assert summary.rejected_path is None
    remote_table = read_object(summary.output_path)
    np.testing.assert_array_equal(
        remote_table["prediction"].to_numpy(), pd.read_parquet(tmp_path / "pred.parquet")["prediction"].to_numpy()
    )
    assert remote_table["id"].to_pylist() == rows["id"].tolist()
    assert summary.input_sha256 == local.input_sha256
    assert not list((tmp_path / "cache" / "scoring").iterdir())  # the local copy is gone


def test_rejected_rows_are_uploaded_beside_the_output_and_a_stale_one_is_removed(package, bucket):
    rows = scoring_input(50)
    rows.loc[3, "a"] = np.nan
    put_rows(f"{bucket}/in/rows.parquet", rows)
    summary = score(
        package, input_location=f"{bucket}/in/rows.parquet", output=f"{bucket}/out/pred.parquet", on_invalid="drop"
    )
    assert summary.rejected_path == f"{bucket}/out/pred.rejected.parquet"
    assert read_object(summary.rejected_path).num_rows == 1
    put_rows(f"{bucket}/in/rows.parquet", scoring_input(50))
    clean = score(package, input_location=f"{bucket}/in/rows.parquet", output=f"{bucket}/out/pred.parquet")
    assert clean.rejected_path is None
    assert not fsspec.filesystem("memory").exists(f"{bucket}/out/pred.rejected.parquet".removeprefix("memory://"))


def test_a_failed_job_leaves_nothing_at_the_output_key(package, bucket):
    rows = scoring_input(50)
    rows.loc[3, "a"] = np.nan
    put_rows(f"{bucket}/in/rows.parquet", rows)
    with pytest.raises(DataValidationError, match="nothing was written"):
        score(package, input_location=f"{bucket}/in/rows.parquet", output=f"{bucket}/out/pred.parquet")
    assert not fsspec.filesystem("memory").exists(f"{bucket}/out/pred.parquet".removeprefix("memory://"))


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ("{bucket}/in/rows.parquet", "would overwrite the input"),
        ("{bucket}/out/pred.csv", "must name a Parquet object"),
    ],
)
def test_an_output_url_that_cannot_be_used_is_refused(package, bucket, output, message):
    put_rows(f"{bucket}/in/rows.parquet", scoring_input(20))
    with pytest.raises(ConfigError, match=message):
        score(package, input_location=f"{bucket}/in/rows.parquet", output=output.format(bucket=bucket))
    assert read_object(f"{bucket}/in/rows.parquet").num_rows == 20


def test_partitions_upload_their_parts_and_combine_into_the_same_object_as_one_process(tmp_path, package, bucket):
    rows = scoring_input(900)
    rows.loc[[5, 700], "a"] = np.nan
    source = str(write_row_groups(rows, tmp_path / "grouped.parquet", [300, 300, 300]))
    options = {"keep": ["id"], "on_invalid": "drop", "batch_rows": 64, "partition_rows": 300}
    plan = plan_scoring(
        input_location=source, output=f"{bucket}/out/pred.parquet", contract=package.contract, **options
    )
    assert len(plan.ranges) == 3
    assert plan.parts_url.startswith(f"{bucket}/out/.pred.parquet.parts-")
    results = [score_partition(package, plan, index) for index in range(len(plan.ranges))]
    assert len(ObjectFolder(plan.parts_url).keys()) == 3  # what workers elsewhere would see
    summary = combine_partitions(package, plan, results)
    local = score(package, input_location=source, output=str(tmp_path / "pred.parquet"), **options)
    assert read_object(summary.output_path).equals(pq.read_table(tmp_path / "pred.parquet"))
    assert read_object(summary.rejected_path).equals(pq.read_table(local.rejected_path))
    assert ObjectFolder(plan.parts_url).keys() == []  # parts removed
