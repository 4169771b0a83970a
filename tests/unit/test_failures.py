"""Failures of the machine in the core: one-line storage errors, no temporaries, readable modes."""

import errno
import os
import stat

import numpy as np
import pyarrow as pa
import pytest

from regress_core.data.tables import read_table, write_parquet
from regress_core.errors import ConfigError, DataError, StorageError, storage_error
from regress_core.fileio import atomic_write, atomic_write_text
from regress_core.pipeline.workspace import check_home
from regress_core.scoring.outputs import TYPE_FROM, reconcile
from regress_core.scoring.writers import AtomicParquet
from tests.helpers import make_table


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (errno.ENOSPC, "no space left on device; free some space there or write elsewhere"),
        (errno.EROFS, "read-only file system; write elsewhere"),
        (errno.EACCES, "permission denied; write elsewhere or fix the folder's permissions"),
    ],
)
def test_storage_failures_become_one_line_naming_the_file(code, reason):
    error = storage_error(OSError(code, os.strerror(code)), "/data/out.parquet")
    assert isinstance(error, StorageError)
    assert isinstance(error, OSError)
    assert error.exit_code == 4
    assert str(error) == f"cannot write /data/out.parquet: {reason}"


def test_a_failed_copy_names_its_destination_and_other_errors_are_left_alone():
    copy = OSError(errno.ENOSPC, "No space left on device", "/cache/model.pt", None, "/registry/model.pt")
    assert str(storage_error(copy)).startswith("cannot write /registry/model.pt: no space left")
    assert storage_error(OSError(errno.ECONNREFUSED, "refused")) is None
    assert storage_error(ValueError("no")) is None


def test_a_write_that_fills_the_disk_leaves_nothing(tmp_path):
    def full(tmp):
        tmp.write_bytes(b"partial")
        raise OSError(errno.ENOSPC, "Error writing bytes to file")  # as pyarrow reports it, no file name

    with pytest.raises(StorageError, match=f"cannot write {tmp_path}/out.json: no space left on device"):
        atomic_write(tmp_path / "out.json", full)
    assert list(tmp_path.iterdir()) == []


def test_a_parquet_write_that_fills_the_disk_leaves_nothing(tmp_path):
    schema = pa.schema([pa.field("x", pa.float64())])

    def fill_the_disk() -> None:
        with AtomicParquet(tmp_path / "out.parquet", schema) as out:
            out.writer.write_table(pa.table({"x": [1.0]}))
            raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(StorageError, match=r"out.parquet: no space left on device"):
        fill_the_disk()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077])
def test_written_files_get_the_mode_the_umask_implies(tmp_path, umask):
    previous = os.umask(umask)
    try:
        text = atomic_write_text(tmp_path / "champion.json", "{}")
        table = tmp_path / "p.parquet"
        with AtomicParquet(table, pa.schema([pa.field("x", pa.float64())])) as out:
            out.writer.write_table(pa.table({"x": [1.0]}))
    finally:
        os.umask(previous)
    for path in (text, table):
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask, path


def test_a_workspace_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(ConfigError, match=f"{tmp_path}/f is a file, not a folder"):
        check_home(tmp_path / "f" / "home")
    assert check_home(tmp_path / "new") == tmp_path / "new"


def _field(kind: pa.DataType, origin: str) -> pa.Field:
    return pa.field("id", kind, metadata={TYPE_FROM: origin})


def test_kept_column_types_of_two_files_are_reconciled_or_refused_naming_both():
    assert reconcile(_field(pa.int64(), "1.parquet"), _field(pa.float64(), "2.parquet")).type == pa.float64()
    assert reconcile(_field(pa.null(), "1.parquet"), _field(pa.string(), "2.parquet")).type == pa.string()
    with pytest.raises(DataError, match=r"kept column id is int64 in 1.parquet but string in 2.parquet"):
        reconcile(_field(pa.int64(), "1.parquet"), _field(pa.string(), "2.parquet"))


def test_a_csv_column_that_turns_to_text_far_down_is_read_as_one_column_of_text(tmp_path):
    table = make_table(300_000)
    table.insert(0, "code", np.arange(len(table)).astype(object))
    table.loc[250_000, "code"] = "A-2999"
    table.to_csv(tmp_path / "t.csv", index=False)
    read = read_table(tmp_path / "t.csv")
    assert read.code.map(type).eq(str).all()
    assert read.code.iloc[250_000] == "A-2999"
    write_parquet(read, tmp_path / "t.parquet")  # the raw snapshot of ingest
