"""Bad input and bad configuration: one line, a distinct exit code, nothing changed.

Every case runs `regress train` and `regress score` (in this process, under the test
Prefect server) against a workspace that already has a champion, then checks that the
registry is byte-for-byte unchanged and that no output file, partial or not, appeared.
"""

import contextlib
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from regress_cli.main import main
from regress_core.data.contract import dump_contract, infer_contract
from tests.helpers import FAST_ARGS, make_table, registry_snapshot, scoring_input, train_package

DATA_ERROR, CONFIG_ERROR = 3, 2


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad-input")
    home = str(root / "home")
    train_package(home)
    contract = root / "contract.yaml"
    contract.write_text(dump_contract(infer_contract(make_table(200), target="y")))
    return root, home, str(contract)


def write(path: Path, content) -> str:
    if isinstance(content, pd.DataFrame):
        if path.suffix == ".parquet":
            content.to_parquet(path, index=False)
        else:
            content.to_csv(path, index=False)
    else:
        path.write_bytes(content)
    return str(path)


def good_train():
    return make_table(120, seed=3)


def good_score():
    return scoring_input(50)


def with_text(df, column="a", token="n/a"):
    df = df.copy()
    df[column] = df[column].astype(object)
    df.loc[2, column] = token
    return df


def truncated_parquet(df):
    import io

    buffer = io.BytesIO()
    df.to_parquet(buffer, index=False)
    return buffer.getvalue()[:300]


# name -> (file name, training content, scoring content, message in train, message in score)
CORPUS = {
    "missing target": ("t.csv", good_train().drop(columns="y"), None, "missing columns y", None),
    "missing feature": (
        "t.csv",
        good_train().drop(columns="b"),
        good_score().drop(columns="b"),
        "missing columns b",
        "is missing columns: b",
    ),
    "extra column": ("t.csv", good_train().assign(c=1.0), None, "unexpected columns c", None),
    "renamed column": (
        "t.csv",
        good_train().rename(columns={"a": "A"}),
        good_score().rename(columns={"a": "A"}),
        "missing columns a; unexpected columns A",
        "is missing columns: a",
    ),
    "text in numeric column": (
        "t.csv",
        with_text(good_train()),
        with_text(good_score()),
        "a: values must be numeric (1 of 120 rows) (e.g. 'n/a')",
        "row 2: a is not numeric",
    ),
    "NaN values": (
        "t.parquet",
        good_train().assign(b=lambda d: d.b.where(d.index != 4)),
        good_score().assign(b=lambda d: d.b.where(d.index != 4)),
        "b: values must not be blank (1 of 120 rows)",
        "row 4: b is blank",
    ),
    "infinite values": (
        "t.parquet",
        good_train().assign(a=lambda d: d.a.where(d.index != 5, np.inf)),
        good_score().assign(a=lambda d: d.a.where(d.index != 5, np.inf)),
        "(e.g. inf)",
        "row 5: a is not finite",
    ),
    "empty file": ("t.csv", b"", b"", "is empty", "is empty"),
    "header only": ("t.csv", b"a,b,y\n", b"id,a,b\n", "has a header but no data rows", "no rows to score"),
    "corrupt parquet": (
        "t.parquet",
        truncated_parquet(good_train()),
        truncated_parquet(good_score()),
        "is not a readable Parquet file",
        "is not a readable Parquet file",
    ),
    "not a table": (
        "t.bin",
        b"\x00\x01\x02\xff binary",
        b"\x00\x01\x02\xff binary",
        "is neither CSV nor Parquet",
        "is neither CSV nor Parquet",
    ),
    "not UTF-8": (
        "t.csv",
        "a,b,y\n\xe9,1,2\n".encode("latin-1"),
        "id,a,b\n1,\xe9,2\n".encode("latin-1"),
        "is not UTF-8 text",
        "is not UTF-8 text",
    ),
    "duplicate columns": (
        "t.csv",
        b"a,a,b,y\n1,2,3,4\n",
        b"a,a,b\n1,2,3\n",
        "duplicate column names: a",
        "duplicate column names: a",
    ),
    "constant target": ("t.csv", good_train().assign(y=3.0), None, "target is constant", None),
    "too few rows": ("t.csv", good_train().head(5), None, "table has 5 rows, needs at least 20", None),
}


def run_cli(*args):
    """Run the command in this process; return its exit code and its error lines."""
    buffer = io.StringIO()
    with contextlib.redirect_stderr(buffer):
        code = main(list(args))
    return code, [line for line in buffer.getvalue().splitlines() if line.startswith("regress: error:")]


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_bad_training_input(workspace, case):
    root, home, contract = workspace
    name, content, _, message, _ = CORPUS[case]
    path = write(root / f"train-{case.replace(' ', '-')}-{name}", content)
    before = registry_snapshot(home)
    code, lines = run_cli("train", "--data", path, "--contract", contract, "--home", home)
    assert code == DATA_ERROR
    assert len(lines) == 1, lines
    assert message in lines[0], lines
    assert registry_snapshot(home) == before


@pytest.mark.parametrize("case", sorted(c for c in CORPUS if CORPUS[c][2] is not None))
def test_bad_scoring_input(workspace, case):
    root, home, _ = workspace
    name, _, content, _, message = CORPUS[case]
    path = write(root / f"score-{case.replace(' ', '-')}-{name}", content)
    output = root / "out" / f"{case.replace(' ', '-')}.parquet"
    output.parent.mkdir(exist_ok=True)
    before = registry_snapshot(home)
    code, lines = run_cli("score", "--input", path, "--output", str(output), "--home", home)
    assert code == DATA_ERROR
    assert len(lines) == 1, lines
    assert message in lines[0], lines
    assert registry_snapshot(home) == before
    assert list(output.parent.iterdir()) == []


def test_missing_paths(workspace):
    root, home, contract = workspace
    code, lines = run_cli("train", "--data", str(root / "nope.csv"), "--contract", contract, "--home", home)
    assert code == DATA_ERROR
    assert "input not found" in lines[0]
    code, lines = run_cli(
        "score", "--input", str(root / "nope.csv"), "--output", str(root / "o.parquet"), "--home", home
    )
    assert code == DATA_ERROR
    assert "input not found" in lines[0]
    code, lines = run_cli("train", "--data", str(root), "--contract", contract, "--home", home)
    assert code == DATA_ERROR
    assert "input is a folder" in lines[0]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["train.learning_rate=0.1"], "train.learning_rate: unknown key"),
        (["train.max_epochs=many"], "train.max_epochs: Input should be a valid integer"),
        (["train.lr=-0.001"], "train.lr: Input should be greater than 0"),
        (["model.hidden_sizes=[0]"], "hidden_sizes must all be positive"),
        (["split.test_size=0"], "split.test_size: Input should be greater than 0"),
        (["split.test_size=1"], "split.test_size: Input should be less than 1"),
        (["data.target=y", "data.features=[a, y]"], "target 'y' is also listed in features"),
        (["gate.r2_min=.nan"], "gate.r2_min: Input should be a finite number"),
        (["gate.rmse_max=.inf"], "gate.rmse_max: Input should be a finite number"),
        (["train.lr=.nan"], "train.lr: Input should be a finite number"),
    ],
)
def test_bad_configuration(workspace, overrides, message):
    root, home, contract = workspace
    path = write(root / "good.csv", good_train())
    before = registry_snapshot(home)
    args = ["train", "--data", path, "--contract", contract, "--home", home]
    for override in overrides:
        args += ["--set", override]
    code, lines = run_cli(*args)
    assert code == CONFIG_ERROR, lines
    assert len(lines) == 1, lines
    assert message in lines[0], lines
    assert registry_snapshot(home) == before


def test_bad_scoring_options(workspace):
    root, home, _ = workspace
    path = write(root / "rows.parquet", good_score())
    code, lines = run_cli(
        "score", "--input", path, "--output", str(root / "o.parquet"), "--batch-rows", "0", "--home", home
    )
    assert code == CONFIG_ERROR
    assert "batch_rows: Input should be greater than or equal to 1" in lines[0]
    code, lines = run_cli(
        "score", "--input", path, "--output", str(root / "o.parquet"), "--model", "../../etc", "--home", home
    )
    assert code == 4
    assert "invalid model name '../../etc'" in lines[0]
    assert not (root / "o.parquet").exists()


def test_a_gate_that_cannot_finish_says_the_version_is_published_and_a_rerun_finishes_it(tmp_path):
    home = str(tmp_path / "home")
    data = write(tmp_path / "train.csv", good_train())
    model = Path(home) / "registry" / "models" / "train"
    decisions = model / "decisions"
    decisions.parent.mkdir(parents=True)
    decisions.write_text("not a folder")  # the gate cannot record its decision
    args = ["train", "--data", data, "--target", "y", "--home", home, *FAST_ARGS]
    code, lines = run_cli(*args)
    assert code == 4
    assert len(lines) == 1
    assert lines[0].startswith(
        "regress: error: model train@v0001 is published, but its promotion gate could not finish ("
    )
    assert "the champion is unchanged; fix the cause and run the same command again" in lines[0]
    assert not (model / "champion.json").exists()
    decisions.unlink()
    code, lines = run_cli(*args)
    assert code == 0
    assert lines == []
    assert json.loads((model / "champion.json").read_text())["version"] == "v0001"


def test_a_two_gigabyte_file_of_nul_bytes_is_refused_from_its_first_bytes(workspace):
    root, home, contract = workspace
    path = root / "nul.csv"
    with open(path, "wb") as handle:
        handle.truncate(2 << 30)  # sparse: 2 GB of NUL bytes on no disk
    before = registry_snapshot(home)
    for args in (
        ["score", "--input", str(path), "--output", str(root / "o.parquet"), "--home", home],
        ["train", "--data", str(path), "--contract", contract, "--home", home],
    ):
        code, lines = run_cli(*args)
        assert code == DATA_ERROR, lines
        assert len(lines) == 1, lines
        assert f"{path} is neither CSV nor Parquet: it holds binary data (a NUL byte at byte 0)" in lines[0]
    assert registry_snapshot(home) == before
    assert not (root / "o.parquet").exists()


def test_a_truncated_champion_pointer_is_refused_before_training_starts(workspace, tmp_path):
    root, home, contract = workspace
    copy = tmp_path / "home"
    shutil.copytree(home, copy)
    pointer = copy / "registry" / "models" / "train" / "champion.json"
    pointer.write_text(pointer.read_text()[:7])
    cached = sorted((copy / "cache").rglob("*"))
    code, lines = run_cli(
        "train",
        "--data",
        write(root / "good.csv", good_train()),
        "--contract",
        contract,
        "--set",
        "registry.model=train",
        "--home",
        str(copy),
    )
    assert code == 4, lines
    assert len(lines) == 1, lines
    assert "champion.json is damaged (not valid JSON" in lines[0], lines
    assert sorted((copy / "cache").rglob("*")) == cached  # no stage ran
