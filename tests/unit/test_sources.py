"""Every kind of training source answers the one protocol: a fingerprint, a contract, Arrow batches."""

import pyarrow as pa
import pytest

from regress_core.data.sources import (
    BundledSource,
    FileSource,
    SklearnSource,
    SyntheticSource,
    load_source,
    open_source,
    read_source,
)
from regress_core.errors import DataError


def test_open_source_picks_the_kind_from_the_name(tmp_path):
    assert isinstance(open_source("california_housing"), BundledSource)
    assert open_source("parabola", n_rows=30, noise=0.5, seed=3) == SyntheticSource("parabola", 30, 0.5, 3)
    assert isinstance(open_source("sklearn:california_housing"), SklearnSource)
    assert isinstance(open_source(str(tmp_path / "t.csv")), FileSource)
    assert isinstance(open_source("s3://bucket/t.parquet"), FileSource)


def test_sources_yield_arrow_batches_of_one_schema_with_string_names(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,y\n1,x,2.5\n2,,3.5\n")
    for source in (open_source("linear", n_rows=40), open_source(str(path)), open_source("california_housing")):
        batches = list(source.batches())
        assert batches
        assert all(isinstance(batch, pa.RecordBatch) for batch in batches)
        assert all(batch.schema == batches[0].schema for batch in batches)
        assert all(isinstance(name, str) for name in batches[0].schema.names)
    table = read_source(open_source(str(path)))
    assert table.num_rows == 2
    assert table.column_names == ["a", "b", "y"]
    assert table.column("b").null_count == 1  # an empty field is a missing value


def test_load_source_is_the_batches_as_a_frame():
    df = load_source("linear", n_rows=40, seed=1)
    assert list(df.columns) == ["x", "y"]
    assert len(df) == 40
    assert df.equals(load_source("linear", n_rows=40, seed=1))
    assert not df.equals(load_source("linear", n_rows=40, seed=2))


def test_fingerprints_follow_the_content(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,y\n1,2\n")
    first = open_source(str(path)).fingerprint()
    path.write_text("a,y\n1,3\n")
    assert open_source(str(path)).fingerprint() != first
    assert open_source(str(tmp_path / "absent.csv")).fingerprint().startswith("missing:")
    assert len(open_source("california_housing").fingerprint()) == 64
    assert open_source("linear").fingerprint() == "linear"


def test_contracts_ship_with_bundled_and_synthetic_sources_only(tmp_path):
    assert open_source("california_housing").contract().target == "MedHouseVal"
    assert open_source("parabola").contract().target == "y"
    assert open_source(str(tmp_path / "t.csv")).contract() is None


def test_an_unreadable_file_source_names_the_file(tmp_path):
    with pytest.raises(DataError, match=r"input not found: .*absent.csv"):
        list(open_source(str(tmp_path / "absent.csv")).batches())
