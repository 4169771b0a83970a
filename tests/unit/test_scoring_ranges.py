"""Input files cut into ranges of row groups, and partitions of one file scoring like the whole file."""

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from regress_core.errors import ConfigError, DataError, DataValidationError
from regress_core.scoring.partitions import combine_partitions, plan_scoring, score_partition
from regress_core.scoring.ranges import FileRange, cut_ranges
from regress_core.scoring.streaming import score
from tests.helpers import scoring_input, write_row_groups

# Uneven row groups, one of them empty; ranges of 300 rows start at groups 0, 2 and 5.
GROUP_ROWS = [200, 100, 0, 250, 50, 300]


@pytest.fixture
def grouped(tmp_path):
    return str(write_row_groups(scoring_input(900), tmp_path / "grouped.parquet", GROUP_ROWS))


def cut(path, partition_rows, batch_rows=1):
    """(first group, groups, first row) of each range of the file."""
    ranges = cut_ranges([path], batch_rows=batch_rows, partition_rows=partition_rows)
    return [(piece.first_group, piece.groups, piece.first_row) for piece in ranges]


def test_a_file_of_many_row_groups_is_cut_into_ranges_of_whole_groups(grouped):
    assert cut(grouped, 300) == [(0, 2, 0), (2, 3, 300), (5, 1, 600)]
    assert cut_ranges([grouped], batch_rows=1, partition_rows=300)[1].row_groups == [2, 3, 4]


def test_each_range_holds_at_least_the_target_and_a_short_tail_joins_the_range_before(tmp_path):
    path = str(write_row_groups(scoring_input(700), tmp_path / "t.parquet", [400, 100, 100, 100]))
    assert cut(path, 150) == [(0, 1, 0), (1, 3, 400)]
    assert cut(path, 100) == [(0, 1, 0), (1, 1, 400), (2, 1, 500), (3, 1, 600)]


def test_ranges_are_no_smaller_than_a_batch(grouped):
    assert cut(grouped, 300, batch_rows=350) == [(0, 4, 0), (4, 2, 550)] == cut(grouped, 350)


def test_files_of_one_range_are_read_whole(grouped, tmp_path):
    scoring_input(50).to_parquet(tmp_path / "one.parquet", index=False)
    scoring_input(900).to_csv(tmp_path / "big.csv", index=False)
    scoring_input(0).to_parquet(tmp_path / "none.parquet", index=False)
    (tmp_path / "blank.parquet").write_bytes(b"")
    files = [str(tmp_path / name) for name in ("one.parquet", "big.csv", "none.parquet", "blank.parquet")]
    assert cut_ranges([*files, grouped], batch_rows=1, partition_rows=10)[:4] == [FileRange(name) for name in files]
    assert FileRange(files[0]).row_groups is None
    assert cut(grouped, 10**6) == [(0, None, 0)]


def test_bad_settings_and_unreadable_footers_are_refused(grouped, tmp_path):
    with pytest.raises(ConfigError, match="partition_rows must be positive, got 0"):
        cut_ranges([grouped], batch_rows=1, partition_rows=0)
    (tmp_path / "cut.parquet").write_bytes(Path(grouped).read_bytes()[:-100])
    with pytest.raises(DataError, match=r"cannot read .*cut.parquet: "):
        cut_ranges([str(tmp_path / "cut.parquet")], batch_rows=1, partition_rows=10)


def score_in_partitions(package, source, output, **options):
    """The partitioned path in one process: each range into a part, last range first, then combined."""
    plan = plan_scoring(input_location=source, output=output, contract=package.contract, **options)
    results = [score_partition(package, plan, index) for index in reversed(range(len(plan.ranges)))]
    return plan, combine_partitions(package, plan, results[::-1])


def test_batches_restart_at_each_range_in_the_single_process_run(tmp_path, package, grouped, monkeypatch):
    monkeypatch.setattr(package, "predict", lambda df, precision: np.arange(len(df), dtype=np.float64))
    score(package, input_location=grouped, output=str(tmp_path / "out.parquet"), batch_rows=128, partition_rows=300)
    positions = pq.read_table(tmp_path / "out.parquet").column("prediction").to_pylist()
    in_range = [*range(128), *range(128), *range(44)]
    assert positions == in_range * 3


def test_partitions_of_one_file_score_exactly_like_the_whole_file(tmp_path, package, grouped, monkeypatch):
    rows = scoring_input(900)
    rows.loc[[5, 310, 777], "a"] = [np.nan, 1e9, np.nan]
    write_row_groups(rows, tmp_path / "bad.parquet", GROUP_ROWS)
    options = {"keep": ["id", "label"], "on_invalid": "drop", "batch_rows": 128, "partition_rows": 300}
    source = str(tmp_path / "bad.parquet")
    whole = score(package, input_location=source, output=str(tmp_path / "whole.parquet"), **options)
    plan, parts = score_in_partitions(package, source, str(tmp_path / "parts.parquet"), **options)
    assert len(plan.ranges) == 3
    assert parts.files == 1
    assert pq.read_table(tmp_path / "parts.parquet").equals(pq.read_table(tmp_path / "whole.parquet"))
    assert pq.read_table(parts.rejected_path).equals(pq.read_table(whole.rejected_path))
    assert pq.read_table(parts.rejected_path).column("row_number").to_pylist() == [5, 310, 777]
    assert (parts.rows_in, parts.rows_scored, parts.rows_rejected) == (900, 897, 3)
    assert parts.psi == whole.psi
    # A model whose output shows how rows were batched scores alike in both paths as well.
    monkeypatch.setattr(package, "predict", lambda df, precision: np.arange(len(df), dtype=np.float64))
    score(package, input_location=source, output=str(tmp_path / "whole.parquet"), **options)
    score_in_partitions(package, source, str(tmp_path / "parts.parquet"), **options)
    assert pq.read_table(tmp_path / "parts.parquet").equals(pq.read_table(tmp_path / "whole.parquet"))


def test_a_bad_row_in_a_later_range_is_named_by_its_row_in_the_file(tmp_path, package):
    rows = scoring_input(900)
    rows.loc[610, "b"] = np.inf
    write_row_groups(rows, tmp_path / "bad.parquet", GROUP_ROWS)
    with pytest.raises(DataValidationError, match=r"1 rows in .*bad.parquet break the data contract \(row 610: b is"):
        score_in_partitions(
            package,
            str(tmp_path / "bad.parquet"),
            str(tmp_path / "out.parquet"),
            keep=[],
            on_invalid="fail",
            batch_rows=128,
            partition_rows=300,
        )
