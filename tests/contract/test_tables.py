import pandas as pd
import pytest

from regress_core.data.sources import bundled_path, load_source, make_synthetic
from regress_core.data.tables import read_table
from regress_core.errors import DataError


def test_csv_and_parquet_read_the_same(tmp_path, table):
    table.to_csv(tmp_path / "t.csv", index=False)
    table.to_parquet(tmp_path / "t.parquet", index=False)
    pd.testing.assert_frame_equal(read_table(tmp_path / "t.csv"), read_table(tmp_path / "t.parquet"), check_exact=False)


def test_fsspec_url(tmp_path, table):
    table.to_csv(tmp_path / "t.csv", index=False)
    assert len(read_table(f"file://{tmp_path}/t.csv")) == len(table)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "is empty"),
        ("header.csv", b"a,b,y\n", "has a header but no data rows"),
        ("latin.csv", "a,y\n\xe9,1\n".encode("latin-1"), "is not UTF-8 text"),
        ("dup.csv", b"a,a,y\n1,2,3\n", "duplicate column names: a"),
        ("bad.parquet", b"PAR1 this is not parquet", "is not a readable Parquet file"),
        ("blob.bin", b"\x00\x01\x02binary", "is neither CSV nor Parquet"),
    ],
)
def test_unreadable_inputs_are_named(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        read_table(path)


def test_truncated_parquet(tmp_path, table):
    table.to_parquet(tmp_path / "t.parquet", index=False)
    data = (tmp_path / "t.parquet").read_bytes()
    (tmp_path / "t.parquet").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="is not a readable Parquet file"):
        read_table(tmp_path / "t.parquet")


def test_missing_path_and_folder(tmp_path):
    with pytest.raises(DataError, match="input not found"):
        read_table(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="input is a folder"):
        read_table(tmp_path)


def test_bundled_dataset_matches_its_provenance_and_loads_offline():
    df = load_source("california_housing")
    assert df.shape == (20640, 9)
    assert df.columns[-1] == "MedHouseVal"
    assert df.MedInc.mean() == pytest.approx(3.870671, abs=1e-6)
    assert bundled_path("california_housing").name == "california_housing.csv"


def test_synthetic_sets_follow_the_tutorials():
    line = make_synthetic("linear", n_rows=100, noise=0.0, seed=0)
    assert (line.y == 2 * line.x + 1).all()
    parabola = make_synthetic("parabola", n_rows=100, noise=1.0, seed=0)
    assert len(parabola) == 100
    assert parabola.x.min() == -5
    assert parabola.x.max() == 5
    assert abs((parabola.y - parabola.x**2).std() - 1.0) < 0.2
