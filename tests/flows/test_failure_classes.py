"""Failures of the machine and of odd inputs, through the real command: one line, nothing left.

Every case runs `regress` in a child process (against the test session's Prefect server, so
no server starts per command) and checks: exactly one `regress: error:` line naming the
problem, the exit code of its class, no traceback, no file at the output path, no temporary
or staging file left behind, and the registry byte-for-byte unchanged.

A full or read-only disk is a real one: a 20 MB tmpfs mounted in the test (root only; the
tests skip, saying why, where mounting is not possible).
"""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from prefect.settings import PREFECT_API_URL

from tests.helpers import FAST_ARGS, make_table, scoring_input

CONFIG, DATA, RUNTIME = 2, 3, 4


def cli(*args: str, home: str | Path | None = None) -> subprocess.CompletedProcess[str]:
    """`regress ARGS` as a user runs it, talking to the test session's Prefect server."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PREFECT_API_URL": str(PREFECT_API_URL.value())}
    env.pop("REGRESS_HOME", None)
    if home is not None:
        env["REGRESS_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "regress_cli.main", *args], capture_output=True, text=True, env=env, timeout=600
    )


def assert_one_line(done: subprocess.CompletedProcess[str], code: int, *messages: str) -> str:
    lines = [line for line in done.stderr.splitlines() if line.startswith("regress: error:")]
    assert done.returncode == code, done.stderr[-3000:]
    assert len(lines) == 1, done.stderr[-3000:]
    for message in messages:
        assert message in lines[0], lines[0]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    return lines[0]


def leftovers(folder: Path) -> list[str]:
    """Temporary files, pending rejected rows, scoring parts and unpublished staging packages."""
    if not folder.exists():
        return []
    found = [p for p in folder.rglob("*") if p.name.endswith(".tmp") or ".parts-" in p.name]
    staging = folder / "registry" / "staging"
    found += list(staging.iterdir()) if staging.is_dir() else []
    return sorted(str(p) for p in found)


def snapshot(home: str | Path) -> dict[str, str]:
    files = sorted(p for p in (Path(home) / "registry").rglob("*") if p.is_file() and p.name != ".lock")
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def mount(*args: str) -> None:
    done = subprocess.run(["mount", *args], capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"cannot mount ({' '.join(args)}): {done.stderr.strip()}")


@pytest.fixture
def disk(tmp_path) -> Iterator[Path]:
    """A 20 MB tmpfs of its own, unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root (CI runs the tests as root)")
    folder = tmp_path / "disk"
    folder.mkdir()
    mount("-t", "tmpfs", "-o", "size=20m", "tmpfs", str(folder))
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path, *, leave: int = 0) -> None:
    """Fill a filesystem until only `leave` bytes are free."""
    free = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize
    with open(folder / "filler", "wb") as handle:
        handle.write(b"\0" * max(free - leave, 0))


def read_only(folder: Path) -> None:
    mount("-o", "remount,ro", str(folder))


@pytest.fixture(scope="module")
def rows(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("rows")
    scoring_input(50).to_csv(folder / "small.csv", index=False)
    scoring_input(60_000).to_parquet(folder / "big.parquet", index=False)
    make_table(120, seed=3).to_csv(folder / "train.csv", index=False)
    return folder


# 1. A full disk or a read-only folder ------------------------------------------------------


def test_training_into_a_full_workspace(disk, rows):
    fill(disk)
    home = disk / "home"
    done = cli("train", "--data", str(rows / "train.csv"), "--target", "y", *FAST_ARGS, home=home)
    # Refused before any stage runs, naming the space free and needed.
    assert_one_line(done, RUNTIME, f"the workspace {home} has 0 MB free and this run needs about 8 MB")
    assert not home.exists()


def test_training_whose_validation_report_fills_the_disk(disk, rows, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (disk / "reports").mkdir()
    (home / "reports").symlink_to(disk / "reports")  # the reports alone live on the small disk
    fill(disk, leave=256 * 1024)  # the workspace has room (preflight passes); the report's disk does not
    done = cli("train", "--data", str(rows / "train.csv"), "--target", "y", *FAST_ARGS, home=home)
    assert_one_line(done, RUNTIME, f"cannot write {home}/reports/validation/", "no space left on device")
    assert leftovers(home) == []
    assert snapshot(home) == {}
    assert not list((home / "reports" / "validation").iterdir())  # the half-built report is gone


def test_publishing_into_a_full_registry_leaves_no_staging_package(disk, rows, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (disk / "registry").mkdir()
    (home / "registry").symlink_to(disk / "registry")  # the registry alone lives on the small disk
    fill(disk)
    done = cli("train", "--data", str(rows / "train.csv"), "--target", "y", *FAST_ARGS, home=home)
    assert_one_line(done, RUNTIME, f"cannot write {home}/registry/models/train/staging/", "no space left on device")
    assert leftovers(home) == []
    assert snapshot(home) == {}


def test_a_read_only_workspace_refuses_training_and_still_scores(disk, rows, trained_home, tmp_path):
    home = disk / "home"
    subprocess.run(["cp", "-a", trained_home, str(home)], check=True)
    read_only(disk)
    before = snapshot(home)
    done = cli("train", "--data", str(rows / "train.csv"), "--target", "y", *FAST_ARGS, home=home)
    assert_one_line(done, RUNTIME, f"the workspace {home} cannot be written", "read-only file system")
    assert snapshot(home) == before
    scored = cli("score", "--input", str(rows / "small.csv"), "--output", str(tmp_path / "p.parquet"), home=home)
    assert scored.returncode == 0, scored.stderr[-3000:]
    assert "the scoring ledger could not record them" in scored.stderr  # said, not fatal
    assert (tmp_path / "p.parquet").is_file()


@pytest.mark.parametrize(
    ("state", "runner", "message"),
    [
        ("full", "local", "cannot write {out}/p.parquet: no space left on device"),
        ("full", "dask", "cannot write {out}/p.parquet: no space left on device"),
        # refused before the model is loaded
        ("read-only", "local", "--output's folder {out} cannot be written: {out} is on a read-only file system"),
    ],
)
def test_scoring_onto_a_full_or_read_only_disk(disk, rows, trained_home, state, runner, message):
    out = disk / "out"
    out.mkdir()
    if state == "full":
        fill(disk, leave=64 * 1024)
    else:
        read_only(disk)
    before = snapshot(trained_home)
    done = cli(
        "score",
        *("--input", str(rows / "big.parquet"), "--output", str(out / "p.parquet"), "--keep", "id"),
        *("--on-invalid", "drop", "--task-runner", runner, "--dask-workers", "1"),
        home=trained_home,
    )
    assert_one_line(done, RUNTIME, message.format(out=out))
    assert list(out.iterdir()) == []
    assert snapshot(trained_home) == before


# 2. Types that change inside a file or across the files of a folder ------------------------


def _files(folder: Path, tables: dict[str, pd.DataFrame]) -> Path:
    folder.mkdir()
    for name, table in tables.items():
        if name.endswith(".parquet"):
            table.to_parquet(folder / name, index=False)
        else:
            table.to_csv(folder / name, index=False)
    return folder


def _text_from(table: pd.DataFrame, column: str, row: int, value: str) -> pd.DataFrame:
    table = table.assign(**{column: table[column].astype(object)})
    table.loc[row, column] = value
    return table


def _integers(table: pd.DataFrame) -> pd.DataFrame:
    return table.assign(a=table.a.round().astype(int))


def _blank_then_text(n_rows: int) -> pd.DataFrame:
    table = scoring_input(n_rows).assign(note=None)
    table.loc[n_rows - 100 :, "note"] = "text"
    return table


TYPES = {
    # name: (files, kept columns, exit code, message or the output's column and its values)
    "id turns to text far down": (
        {"x.csv": _text_from(scoring_input(5000), "id", 2999, "A-2999")},
        ["id"],
        0,
        ("id", lambda out: out.id.iloc[2999] == "A-2999" and out.id.iloc[0] == "1000"),
    ),
    "text in an integer feature of one file": (
        {
            "1.csv": _integers(scoring_input(100)),
            "2.csv": _text_from(_integers(scoring_input(100, seed=6)), "a", 5, "99x"),
        },
        [],
        DATA,
        "2.csv break the data contract (row 5: a is not numeric)",
    ),
    "integers in one file, fractions in the next": (
        {"1.parquet": scoring_input(100), "2.parquet": scoring_input(100, seed=6).assign(id=lambda d: d.id + 0.5)},
        ["id"],
        0,
        ("id", lambda out: out.id.dtype == np.float64 and out.id.iloc[-1] == 1099.5),
    ),
    "integers in one file, text in the next": (
        {
            "1.parquet": scoring_input(100),
            "2.parquet": scoring_input(100, seed=6).assign(id=lambda d: d.id.astype(str)),
        },
        ["id"],
        DATA,
        "kept column id is int64 in",
    ),
    "Parquet integers, then CSV text that is no integer": (
        {"1.parquet": scoring_input(100), "2.csv": _text_from(scoring_input(100, seed=6), "id", 7, "1099x")},
        ["id"],
        DATA,
        "does not fit the type int64 it has in",
    ),
    "a kept column blank, then text (CSV)": (
        {"x.csv": _blank_then_text(3000)},
        ["note"],
        0,
        ("note", lambda out: out.note.isna().sum() == 2900 and out.note.iloc[-1] == "text"),
    ),
    "a kept column blank, then text (Parquet)": (
        {"x.parquet": _blank_then_text(3000)},
        ["note"],
        0,
        ("note", lambda out: out.note.isna().sum() == 2900 and out.note.iloc[-1] == "text"),
    ),
}


@pytest.mark.parametrize("case", sorted(TYPES))
def test_types_that_change(trained_home, tmp_path, case):
    tables, keep, code, expected = TYPES[case]
    folder = _files(tmp_path / "in", tables)
    output = tmp_path / "out" / "p.parquet"
    output.parent.mkdir()
    before = snapshot(trained_home)
    kept = [arg for name in keep for arg in ("--keep", name)]
    done = cli(
        "score", "--input", str(folder), "--output", str(output), *kept, "--batch-rows", "1000", home=trained_home
    )
    assert snapshot(trained_home) == before
    if code:
        line = assert_one_line(done, code, expected)
        assert str(folder) in line
        assert list(output.parent.iterdir()) == []
        return
    assert done.returncode == 0, done.stderr[-3000:]
    column, check = expected
    out = pd.read_parquet(output)
    assert len(out) == sum(len(t) for t in tables.values()), out[column]
    assert check(out), out[column]
    assert leftovers(output.parent) == []


def test_training_on_a_column_that_turns_to_text_far_down_names_it(tmp_path):
    table = make_table(5000)
    table.insert(0, "code", np.arange(5000).astype(object))
    table.loc[4321, "code"] = "A-2999"
    table.to_csv(tmp_path / "t.csv", index=False)
    contract = tmp_path / "contract.yaml"
    contract.write_text("target: y\ncolumns: [{name: code}, {name: a}, {name: b}, {name: y}]\n")
    home = tmp_path / "home"
    done = cli("train", "--data", str(tmp_path / "t.csv"), "--contract", str(contract), *FAST_ARGS, home=home)
    assert_one_line(done, DATA, "code: values must be numeric (1 of 5000 rows) (e.g. 'A-2999')")
    assert snapshot(home) == {}
    assert leftovers(home) == []


# 3. Workspace and input mistakes -----------------------------------------------------------


@pytest.fixture
def places(tmp_path, rows) -> dict[str, str]:
    (tmp_path / "a-file").write_text("not a folder")
    (tmp_path / "dataset.parquet").mkdir()  # a folder named like a file, as Spark writes them
    scoring_input(40).to_parquet(tmp_path / "dataset.parquet" / "part-0.parquet", index=False)
    os.mkfifo(tmp_path / "pipe.csv")
    scoring_input(20).assign(prediction=1.0).to_csv(tmp_path / "has-prediction.csv", index=False)
    return {"file": str(tmp_path / "a-file"), "tmp": str(tmp_path), "train": str(rows / "train.csv")}


MISTAKES = {
    "train with --home a file": (
        ["train", "--data", "{train}", "--target", "y", "--home", "{file}"],
        CONFIG,
        "the workspace {file} cannot be used: {file} is a file, not a folder",
    ),
    "score with --home under a file": (
        ["score", "--input", "{train}", "--output", "{tmp}/o.parquet", "--home", "{file}/sub"],
        CONFIG,
        "{file} is a file, not a folder",
    ),
    "models list with --home a file": (["models", "list", "--home", "{file}"], CONFIG, "is a file, not a folder"),
    "train from Google Cloud Storage without gcsfs": (
        ["train", "--data", "gs://bucket/t.csv", "--target", "y"],
        CONFIG,
        "data.source: reading gs:// locations needs a package that is not installed: pip install gcsfs",
    ),
    "train into a workspace on Google Cloud Storage without gcsfs": (
        ["train", "--data", "{train}", "--target", "y", "--home", "gs://bucket/regress"],
        RUNTIME,
        "using gs:// locations needs a package that is not installed: pip install gcsfs",
    ),
    "score from Azure without adlfs": (
        ["score", "--input", "abfs://container/t.csv", "--output", "{tmp}/o.parquet"],
        CONFIG,
        "input: reading abfs:// locations needs a package that is not installed: pip install adlfs",
    ),
    "--keep prediction": (
        ["score", "--input", "{tmp}/has-prediction.csv", "--output", "{tmp}/o.parquet", "--keep", "prediction"],
        CONFIG,
        "an input column named 'prediction' cannot be kept",
    ),
    "train from a pipe": (
        ["train", "--data", "{tmp}/pipe.csv", "--target", "y"],
        DATA,
        "input is not a regular file, expected a CSV or Parquet file: {tmp}/pipe.csv",
    ),
    "score from a pipe": (
        ["score", "--input", "{tmp}/pipe.csv", "--output", "{tmp}/o.parquet"],
        DATA,
        "input is not a regular file",
    ),
    "train from a folder named like a Parquet file": (
        ["train", "--data", "{tmp}/dataset.parquet", "--target", "y"],
        DATA,
        "input is a folder, expected a CSV or Parquet file",
    ),
}


@pytest.mark.parametrize("case", sorted(MISTAKES))
def test_workspace_and_input_mistakes(trained_home, places, case):
    args, code, message = MISTAKES[case]
    before = snapshot(trained_home)
    started = time.monotonic()
    done = cli(*[arg.format(**places) for arg in args], home=trained_home)
    assert_one_line(done, code, message.format(**places))
    assert time.monotonic() - started < 120  # a pipe is refused, not read forever
    assert not Path(places["tmp"], "o.parquet").exists()
    assert leftovers(Path(places["tmp"])) == []
    assert snapshot(trained_home) == before


def test_a_glob_that_matches_a_dataset_folder_scores_the_files_inside(trained_home, places, tmp_path):
    done = cli("score", "--input", f"{tmp_path}/*.parquet", "--output", str(tmp_path / "o.parquet"), home=trained_home)
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(pd.read_parquet(tmp_path / "o.parquet")) == 40


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its permissions")
def test_an_unreadable_input_is_named(trained_home, tmp_path):
    scoring_input(10).to_csv(tmp_path / "secret.csv", index=False)
    (tmp_path / "secret.csv").chmod(0)
    done = cli("score", "--input", str(tmp_path / "secret.csv"), "--output", str(tmp_path / "o.parquet"))
    assert_one_line(done, DATA, f"cannot read {tmp_path}/secret.csv")


# 4. Scheduler addresses, contract output, file modes ---------------------------------------


def test_an_unreachable_dask_scheduler_is_one_line_within_seconds(trained_home, rows, tmp_path):
    started = time.monotonic()
    done = cli(
        *("score", "--input", str(rows / "small.csv"), "--output", str(tmp_path / "o.parquet")),
        *("--task-runner", "dask", "--dask-address", "tcp://127.0.0.1:1"),
        home=trained_home,
    )
    assert_one_line(done, CONFIG, "cannot reach the Dask scheduler at tcp://127.0.0.1:1", "--dask-address")
    assert time.monotonic() - started < 25  # Dask alone waits 30 s
    assert not (tmp_path / "o.parquet").exists()


def test_contract_infer_into_a_folder_is_refused(rows, tmp_path):
    done = cli("contract", "infer", str(rows / "train.csv"), "--target", "y", "--output", str(tmp_path))
    assert_one_line(done, CONFIG, "--output is a folder, expected a file path such as")
    assert leftovers(tmp_path) == []
    assert list(tmp_path.iterdir()) == []


def test_outputs_are_readable_by_others_as_the_umask_allows(trained_home, rows, tmp_path):
    output = tmp_path / "p.parquet"
    done = cli("score", "--input", str(rows / "small.csv"), "--output", str(output), home=trained_home)
    assert done.returncode == 0, done.stderr[-3000:]
    umask = os.umask(0)
    os.umask(umask)
    expected = 0o666 & ~umask
    assert stat.S_IMODE(output.stat().st_mode) == expected
    registry = Path(trained_home) / "registry" / "models" / "train"
    for path in [registry / "champion.json", *registry.glob("versions/*/manifest.json")]:
        assert stat.S_IMODE(path.stat().st_mode) == expected, path


# 5. Degenerate features --------------------------------------------------------------------


def test_a_feature_with_no_value_is_refused_by_name(tmp_path):
    make_table(120).assign(c=np.nan).to_csv(tmp_path / "t.csv", index=False)
    home = tmp_path / "home"
    done = cli("train", "--data", str(tmp_path / "t.csv"), "--target", "y", *FAST_ARGS, home=home)
    assert_one_line(done, DATA, "c: every value is blank: a feature needs values to learn from")
    assert snapshot(home) == {}
    assert leftovers(home) == []
