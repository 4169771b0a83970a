"""Dated scoring in the core: a job's day and paths, stamped outputs, the scoring ledger, backfill days."""

from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from regress_core.config import ScoringConfig, build_scoring_config
from regress_core.errors import ConfigError, DataError
from regress_core.scoring.dated import backfill_days, check_input, dated_location, for_day, scoring_day
from regress_core.scoring.ledger import LedgerEntry, ScoringLedger, entry_for, output_key
from regress_core.scoring.outputs import Stamp
from regress_core.scoring.partitions import combine_partitions, plan_scoring, score_partition
from regress_core.scoring.streaming import score
from tests.helpers import scoring_input

DAY = date(2026, 12, 1)


@pytest.fixture
def rows(tmp_path):
    path = tmp_path / "in" / "dt=2026-12-01" / "rows.parquet"
    path.parent.mkdir(parents=True)
    scoring_input(300).to_parquet(path, index=False)
    return path


def params(tmp_path, **values) -> ScoringConfig:
    return ScoringConfig(
        input=str(tmp_path / "in" / "dt={as_of}" / "rows.parquet"),
        output=str(tmp_path / "out" / "{as_of}.parquet"),
        **values,
    )


@pytest.mark.parametrize(
    ("as_of", "day"),
    [
        ("2026-12-01", DAY),
        ("2026-12-01T23:30", DAY),
        ("2026-12-02T01:30+02:00", DAY),  # 23:30 UTC the day before
        (datetime(2026, 12, 1, 6, tzinfo=UTC), DAY),  # a scheduled start
        (DAY, DAY),
    ],
)
def test_a_jobs_day_is_the_utc_date_of_its_instant(as_of, day):
    assert scoring_day(as_of) == day


def test_a_day_that_is_not_a_date_is_refused():
    with pytest.raises(ConfigError, match="as_of: 'tomorrow' is not a date or an ISO date-time"):
        scoring_day("tomorrow")


def test_as_of_names_the_days_input_and_output(tmp_path):
    assert dated_location("s3://b/in/dt={as_of}/x.parquet", DAY) == "s3://b/in/dt=2026-12-01/x.parquet"
    assert dated_location("plain.parquet", DAY) == "plain.parquet"
    job = for_day(params(tmp_path), DAY)
    assert job.input.endswith("in/dt=2026-12-01/rows.parquet")
    assert job.output.endswith("out/2026-12-01.parquet")


def test_a_missing_day_fails_by_default_and_is_skipped_when_asked(tmp_path, rows):
    assert check_input(params(tmp_path), DAY) is None
    other = date(2026, 12, 2)
    with pytest.raises(DataError, match=r"no input for 2026-12-02: .*dt=2026-12-02/rows.parquet does not exist yet"):
        check_input(params(tmp_path), other)
    skipped = check_input(params(tmp_path, if_missing="skip"), other)
    assert (skipped.as_of, skipped.reason) == ("2026-12-02", "no-input")
    assert "nothing to score for 2026-12-02" in skipped.message
    glob = params(tmp_path, if_missing="skip").model_copy(update={"input": str(tmp_path / "in" / "dt={as_of}" / "*")})
    assert check_input(glob, DAY) is None
    assert check_input(glob, other) is not None
    # An undated input that is not there is named where it is read ("input not found"), unless skipped.
    undated = params(tmp_path).model_copy(update={"input": str(tmp_path / "nope.csv")})
    assert check_input(undated, DAY) is None
    assert check_input(undated.model_copy(update={"if_missing": "skip"}), DAY).reason == "no-input"


def test_backfill_days_are_inclusive_and_checked(tmp_path):
    assert backfill_days("2026-11-30", "2026-12-02") == [date(2026, 11, 30), DAY, date(2026, 12, 2)]
    assert backfill_days("2026-12-01", "2026-12-01") == [DAY]
    with pytest.raises(ConfigError, match="--end 2026-11-01 is before --start 2026-12-01"):
        backfill_days("2026-12-01", "2026-11-01")
    with pytest.raises(ConfigError, match="is 7306 days; a backfill covers at most 3660"):
        backfill_days("2000-01-01", "2020-01-01")
    undated = params(tmp_path).model_copy(update={"output": "one.parquet"})
    with pytest.raises(ConfigError, match=r"--output one.parquet has no \{as_of\}"):
        backfill_days("2026-12-01", "2026-12-02", params=undated)


def test_a_stamped_output_carries_model_version_and_day_on_every_row(tmp_path, package, rows):
    output = tmp_path / "out.parquet"
    summary = score(package, input_location=str(rows), output=str(output), keep=["id"], batch_rows=64, as_of=DAY)
    plain = pd.read_parquet(output)
    assert list(plain.columns) == ["id", "prediction"]
    score(package, input_location=str(rows), output=str(output), keep=["id"], batch_rows=64, as_of=DAY, stamp=True)
    stamped = pd.read_parquet(output)
    assert list(stamped.columns) == ["id", "prediction", "model", "model_version", "as_of"]
    assert stamped.prediction.tolist() == plain.prediction.tolist()
    assert set(stamped.model) == {package.name}
    assert set(stamped.model_version) == {package.version}
    assert set(stamped.as_of) == {DAY}
    assert pq.read_schema(output).field("as_of").type == "date32[day]"
    assert pq.read_metadata(output).metadata[b"regress.as_of"] == b"2026-12-01"
    assert summary.rows_scored == len(stamped) == 300


def test_stamping_needs_a_day_and_free_column_names(tmp_path, package, rows):
    with pytest.raises(ConfigError, match=r"needs the job's day \(as_of\)"):
        score(package, input_location=str(rows), output=str(tmp_path / "o.parquet"), stamp=True)
    with pytest.raises(ConfigError, match="kept column as_of has the name of a stamp column"):
        score(
            package, input_location=str(rows), output=str(tmp_path / "o.parquet"), keep=["as_of"], as_of=DAY, stamp=True
        )
    with pytest.raises(ConfigError, match="kept column model has the name of a stamp column"):
        build_scoring_config({"input": "x.csv", "output": "o.parquet", "keep": ["model"], "stamp": True})
    assert not (tmp_path / "o.parquet").exists()


def test_the_partitioned_path_stamps_the_same_rows(tmp_path, package, rows):
    local = tmp_path / "local.parquet"
    score(package, input_location=str(rows), output=str(local), keep=["id"], batch_rows=100, as_of=DAY, stamp=True)
    stamp = Stamp(package.name, package.version, DAY)
    plan = plan_scoring(
        input_location=str(rows),
        output=str(tmp_path / "parts.parquet"),
        keep=["id"],
        contract=package.contract,
        on_invalid="fail",
        batch_rows=100,
        as_of=DAY,
        stamp=stamp,
    )
    combine_partitions(package, plan, [score_partition(package, plan, i) for i in range(len(plan.ranges))])
    assert pd.read_parquet(tmp_path / "parts.parquet").equals(pd.read_parquet(local))
    other = Stamp(package.name, "v9999", DAY)
    with pytest.raises(ValueError, match="a partition stamped v9999 is scored with"):
        score_partition(package, plan.__class__(**{**plan.__dict__, "stamp": other}), 0)


def test_a_stamps_columns_are_made_once_per_batch_size():
    stamp = Stamp("m", "v0001", DAY)
    first = stamp.arrays(100)
    assert stamp.arrays(100) is first
    assert [array.to_pylist()[:1] for array in stamp.arrays(3)] == [["m"], ["v0001"], [DAY]]


def test_the_ledger_finds_a_day_scored_with_the_same_version_and_input(tmp_path, package, rows):
    ledger = ScoringLedger(tmp_path / "home" / "scoring")
    assert ledger.entries() == []
    output = tmp_path / "out.parquet"
    summary = score(package, input_location=str(rows), output=str(output), as_of=DAY)
    ledger.record(entry_for(summary, DAY))
    job = LedgerEntry("2026-12-01", output_key(str(output)), package.name, package.version, summary.input_sha256)
    found = ledger.scored(job)
    assert found is not None
    assert found.rows == 300
    skipped = ledger.skip(job)
    assert (skipped.reason, skipped.model_version, skipped.rows) == ("already-scored", package.version, 300)
    assert skipped.message.startswith(
        f"2026-12-01 is already scored with {package.name}@{package.version} from the same"
    )
    assert skipped.message.endswith("nothing to do (--skip-scored)")
    assert ledger.scored(LedgerEntry(**{**job.__dict__, "model_version": "v0009"})) is None
    assert ledger.scored(LedgerEntry(**{**job.__dict__, "input_sha256": "0" * 64})) is None
    assert ledger.scored(LedgerEntry(**{**job.__dict__, "as_of": "2026-12-02"})) is None


def test_a_day_rewritten_by_another_version_or_removed_is_not_scored(tmp_path):
    ledger = ScoringLedger(tmp_path / "scoring")
    output = tmp_path / "out.parquet"
    output.write_bytes(b"PAR1")
    job = LedgerEntry("2026-12-01", str(output), "m", "v0001", "abc", rows=5)
    ledger.record(job)
    assert ledger.scored(job) == job
    ledger.record(LedgerEntry(**{**job.__dict__, "model_version": "v0002"}))  # a later run with another version
    assert ledger.scored(job) is None
    ledger.record(job)
    output.unlink()
    assert ledger.scored(job) is None


def test_a_ledger_line_cut_short_is_skipped(tmp_path):
    ledger = ScoringLedger(tmp_path / "scoring")
    entry = LedgerEntry("2026-12-01", "s3://b/out.parquet", "m", "v0001", "abc", rows=5)
    ledger.record(entry)
    with open(ledger.path, "a") as handle:
        handle.write('{"as_of": "2026-12-02", "outp')
    assert ledger.entries() == [entry]
    later = LedgerEntry(**{**entry.__dict__, "as_of": "2026-12-03"})
    ledger.record(later)
    assert ledger.entries() == [entry, later]
    assert output_key("s3://b/out.parquet/") == "s3://b/out.parquet"
    assert output_key(str(Path("rel.parquet"))) == str(Path("rel.parquet").resolve())


def test_a_dated_object_storage_output_is_replaced_whole(memory_url, package, rows, tmp_path):
    import fsspec

    job = for_day(params(tmp_path).model_copy(update={"output": f"{memory_url}/pred/dt={{as_of}}/p.parquet"}), DAY)
    assert job.output == f"{memory_url}/pred/dt=2026-12-01/p.parquet"
    for _ in range(2):
        score(package, input_location=str(rows), output=job.output, keep=["id"], as_of=DAY, stamp=True)
    fs = fsspec.filesystem("memory")
    folder = memory_url.removeprefix("memory://") + "/pred/dt=2026-12-01"
    assert [name.rsplit("/", 1)[-1] for name in fs.ls(folder, detail=False)] == ["p.parquet"]
    with fs.open(f"{folder}/p.parquet", "rb") as handle:
        df = pd.read_parquet(handle)
    assert len(df) == 300
    assert df.id.is_unique
    assert set(df.as_of) == {DAY}


def test_the_input_is_hashed_first_only_when_the_ledger_could_skip_the_day(tmp_path, package, rows):
    from regress_core.scoring.ledger import check_ledger

    ledger = ScoringLedger(tmp_path / "scoring")
    output = tmp_path / "out.parquet"
    ask = {"output": str(output), "model": package.name, "model_version": package.version, "day": DAY}
    fresh = check_ledger(ledger, **ask, files=[str(rows)])
    assert (fresh.input_sha256, fresh.skipped) == (None, None)  # never scored: scoring hashes beside its work
    summary = score(package, input_location=str(rows), output=str(output), as_of=DAY)
    ledger.record(entry_for(summary, DAY))
    again = check_ledger(ledger, **ask, files=[str(rows)])
    assert again.input_sha256 == summary.input_sha256
    assert again.skipped is not None
    assert again.skipped.reason == "already-scored"
    other = check_ledger(ledger, **{**ask, "model_version": "v0009"}, files=[str(rows)])
    assert (other.input_sha256, other.skipped) == (None, None)
