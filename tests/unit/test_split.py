import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn.model_selection import train_test_split

from regress_core.config import RegressConfig, build_config
from regress_core.data.fingerprints import row_fingerprints, seen_mask
from regress_core.data.sources import load_source
from regress_core.data.split import order_by_time, split_frame
from regress_core.errors import ConfigError, DataError
from tests.helpers import make_table


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


def timed_table(days: int, *, rows_a_day: int = 10, seed: int = 0) -> pd.DataFrame:
    """`make_table` rows spread over `days` days from 2026-11-01, rows_a_day each, in shuffled order."""
    df = make_table(days * rows_a_day, seed=seed)
    df["ts"] = pd.Timestamp("2026-11-01") + pd.to_timedelta(np.arange(len(df)) * (24 / rows_a_day), unit="h")
    return df.sample(frac=1.0, random_state=seed)


def test_time_split_keeps_the_latest_rows_for_validation_and_test():
    df = timed_table(10)
    parts = split_frame(df, test_size=0.2, val_size=0.25, seed=0, strategy="time", times=df["ts"])
    assert (len(parts.train), len(parts.val), len(parts.test)) == (60, 20, 20)
    assert parts.train["ts"].max() < parts.val["ts"].min()
    assert parts.val["ts"].max() < parts.test["ts"].min()
    assert parts.test["ts"].max() == df["ts"].max()
    assert parts.test["ts"].is_monotonic_increasing
    assert set(parts.train.index) | set(parts.val.index) | set(parts.test.index) == set(df.index)


def test_time_split_without_times_takes_the_table_order_and_ignores_the_seed(table):
    first = split_frame(table, test_size=0.2, val_size=0.1, seed=1, strategy="time")
    other_seed = split_frame(table, test_size=0.2, val_size=0.1, seed=2, strategy="time")
    assert list(first.test.index) == list(table.index[-len(first.test) :])
    assert list(first.train.index) == list(table.index[: len(first.train)])
    assert list(first.val.index) == list(other_seed.val.index)


def test_time_split_counts_match_the_random_split(table):
    by_time = split_frame(table, test_size=0.2, val_size=0.1, seed=0, strategy="time")
    at_random = split_frame(table, test_size=0.2, val_size=0.1, seed=0)
    assert [len(p) for p in (by_time.train, by_time.val, by_time.test)] == [
        len(p) for p in (at_random.train, at_random.val, at_random.test)
    ]


def test_order_by_time_sorts_the_snapshot_and_drops_the_time_column_unless_kept():
    df = timed_table(3).reset_index(drop=True)
    df["ts"] = df["ts"].dt.strftime("%Y-%m-%dT%H:%M:%S")  # naive ISO text, as a CSV holds it
    table = pa.Table.from_pandas(df, preserve_index=False)
    ordered = order_by_time(table, "ts")
    assert ordered.column_names == ["a", "b", "y"]
    expected = df.sort_values("ts", kind="stable")
    np.testing.assert_array_equal(ordered.column("a").to_numpy(), expected["a"].to_numpy())
    kept = order_by_time(table, "ts", keep=True)
    assert kept.column("ts").to_pylist() == sorted(df["ts"])


def test_the_strategy_defaults_to_time_with_a_time_column_and_to_random_without():
    windowed = RegressConfig.model_validate({"data": {"source": "x.csv", "time_column": "ts", "window": "30d"}})
    assert windowed.split.strategy is None
    assert windowed.resolved().split.strategy == "time"
    assert RegressConfig().resolved().split.strategy == "random"
    chosen = RegressConfig.model_validate(
        {"data": {"source": "x.csv", "time_column": "ts", "window": "30d"}, "split": {"strategy": "random"}}
    )
    assert chosen.resolved().split.strategy == "random"


def test_a_time_split_without_a_time_column_is_refused():
    with pytest.raises(ConfigError, match=r"split\.strategy time needs data\.time_column"):
        build_config(values={"split": {"strategy": "time"}})


def seen_by(parts, columns: list[str]) -> np.ndarray:
    return np.concatenate([row_fingerprints(part, columns) for part in (parts.train, parts.val)])


@pytest.mark.parametrize(("strategy", "all_unseen"), [("time", True), ("random", False)])
def test_a_retrain_on_the_next_window_tests_on_rows_its_champion_has_not_seen(strategy, all_unseen):
    """Champion on days 0-29, candidate on days 1-30: by time, every candidate test row is new to both."""
    df = timed_table(31, rows_a_day=10, seed=3)
    start = pd.Timestamp("2026-11-01")

    def window(first_day: int):
        rows = df[
            (df["ts"] >= start + pd.Timedelta(days=first_day)) & (df["ts"] < start + pd.Timedelta(days=first_day + 30))
        ]
        return split_frame(rows, test_size=0.2, val_size=0.1, seed=42, strategy=strategy, times=rows["ts"])

    champion, candidate = window(0), window(1)
    columns = ["a", "b", "y"]
    seen = seen_mask(row_fingerprints(candidate.test, columns), seen_by(champion, columns))
    assert (not seen.any()) is all_unseen
    assert not seen_mask(row_fingerprints(candidate.test, columns), seen_by(candidate, columns)).any()
