"""The batch scoring flow: local and on a local Dask cluster of two workers."""

import asyncio

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterKey,
    FlowRunFilter,
    FlowRunFilterId,
    TaskRunFilter,
)
from prefect.client.schemas.sorting import ArtifactSort

from flows.scoring import batch_scoring
from regress_core.config import ScoringConfig
from regress_core.errors import DataValidationError
from tests.helpers import scoring_input, write_row_groups


@pytest.fixture
def parts(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    df = scoring_input(900)
    for index, start in enumerate(range(0, 900, 300)):
        df.iloc[start : start + 300].to_parquet(folder / f"part-{index}.parquet", index=False)
    return folder


def params(home, parts, output, **extra):
    return ScoringConfig(input=str(parts), output=str(output), keep=["id"], home=home, batch_rows=128, **extra)


async def artifact_keys(flow_run_id: str) -> set[str]:
    """The keys of the artifacts of one flow run (the session's server holds every test's runs)."""
    async with get_client() as client:
        found = await client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["scoring-summary", "scoring-drift"])),
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
            task_run_filter=TaskRunFilter(),
            sort=ArtifactSort.CREATED_DESC,
            limit=10,
        )
    return {artifact.key for artifact in found}


def test_local_flow_scores_and_publishes_artifacts(trained_home, parts, tmp_path):
    state = batch_scoring(params=params(trained_home, parts, tmp_path / "out.parquet"), return_state=True)
    summary = state.result()
    assert summary.rows_scored == 900
    assert summary.model_version == "v0001"
    assert pd.read_parquet(tmp_path / "out.parquet").id.tolist() == list(range(1000, 1900))
    assert asyncio.run(artifact_keys(str(state.state_details.flow_run_id))) == {"scoring-summary", "scoring-drift"}


def test_dask_path_equals_local_path(trained_home, parts, tmp_path):
    batch_scoring(params=params(trained_home, parts, tmp_path / "local.parquet", interval="model"))
    summary = batch_scoring(
        params=params(
            trained_home, parts, tmp_path / "dask.parquet", task_runner="dask", dask_workers=2, interval="model"
        )
    )
    local, dask = pd.read_parquet(tmp_path / "local.parquet"), pd.read_parquet(tmp_path / "dask.parquet")
    pd.testing.assert_frame_equal(local, dask, check_exact=True)
    assert list(dask.columns) == ["id", "prediction", "lower", "upper"]
    assert pq.read_metadata(tmp_path / "dask.parquet").metadata[b"regress.interval"] == b"0.90"
    assert (summary.rows_scored, summary.interval) == (900, 0.9)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_dask_path_failure_leaves_no_output(trained_home, parts, tmp_path):
    bad = scoring_input(10).assign(a=float("nan"))
    bad.to_parquet(parts / "part-9.parquet", index=False)
    with pytest.raises(DataValidationError, match="a is blank"):
        batch_scoring(params=params(trained_home, parts, tmp_path / "out.parquet", task_runner="dask"))
    assert not (tmp_path / "out.parquet").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_dask_path_shares_one_large_parquet_file_and_equals_local_path(trained_home, tmp_path, caplog):
    rows = scoring_input(900)
    rows.loc[[5, 310, 777], "a"] = [np.nan, 1e9, np.nan]
    source = write_row_groups(rows, tmp_path / "big.parquet", [200, 100, 150, 150, 250, 50])
    extra = {"on_invalid": "drop", "partition_rows": 300}
    local = batch_scoring(params=params(trained_home, source, tmp_path / "out" / "local.parquet", **extra))
    caplog.clear()
    dask = batch_scoring(
        params=params(
            trained_home, source, tmp_path / "out" / "dask.parquet", task_runner="dask", dask_workers=2, **extra
        )
    )
    assert "scoring 3 partitions of 1 file(s)" in caplog.text
    assert pq.read_table(dask.output_path).equals(pq.read_table(local.output_path))
    assert pq.read_table(dask.rejected_path).equals(pq.read_table(local.rejected_path))
    assert pq.read_table(dask.rejected_path).column("row_number").to_pylist() == [5, 310, 777]
    assert (dask.files, dask.rows_scored, dask.rows_rejected) == (1, 897, 3)
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]
