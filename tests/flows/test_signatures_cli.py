"""Signatures through the command line: an unchecked one is said once, an empty key is one line,
and `regress models verify` checks every version."""

import json
import shutil
from pathlib import Path

import pytest

from regress_core.registry.manifest import write_manifest
from tests.helpers import regress, regress_here, scoring_input, train_package

KEY = "correct horse battery staple"
WARNING = (
    "model train@v0001 is not signed, so its signature was not checked (REGRESS_SIGNING_KEY is not set): "
    "its files match its manifest, but nothing proves who wrote them"
)
EMPTY_KEY = (
    "regress: error: REGRESS_SIGNING_KEY is set but empty: set it to the signing key, or unset it to work without "
    "signatures"
)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """One unsigned package (train@v0001, the champion), trained once for the module."""
    home = tmp_path_factory.mktemp("signatures-cli") / "home"
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("REGRESS_SIGNING_KEY", raising=False)
        train_package(str(home))
    return home


@pytest.fixture
def home(trained, tmp_path, monkeypatch) -> str:
    """A copy of the trained workspace this test may alter; no signing key set."""
    monkeypatch.delenv("REGRESS_SIGNING_KEY", raising=False)
    shutil.copytree(trained, tmp_path / "home")
    return str(tmp_path / "home")


@pytest.fixture
def rows(tmp_path) -> str:
    scoring_input(60).to_csv(tmp_path / "rows.csv", index=False)
    return str(tmp_path / "rows.csv")


def versions(home: str) -> Path:
    return Path(home) / "registry" / "models" / "train" / "versions"


def sign(home: str, monkeypatch, version: str = "v0001") -> None:
    """Seal a version's manifest again with the key set, as publishing with the key would have."""
    monkeypatch.setenv("REGRESS_SIGNING_KEY", KEY)
    write_manifest(versions(home) / version)
    monkeypatch.delenv("REGRESS_SIGNING_KEY")


def mentions(text: str, phrase: str = "signature was not checked") -> list[str]:
    return [line for line in text.splitlines() if phrase in line]


def test_scoring_an_unsigned_package_warns_once_and_the_summary_says_so(home, rows, tmp_path):
    done = regress("score", "--input", rows, "--output", str(tmp_path / "p.parquet"), home=home)
    assert done.returncode == 0, done.stderr
    [line] = mentions(done.stderr)
    assert "WARNING" in line
    assert line.endswith(WARNING)
    assert "model train@v0001: unsigned, signature not checked (REGRESS_SIGNING_KEY is not set)" in done.stdout


def test_scoring_in_partitions_on_dask_warns_once(home, tmp_path):
    folder = tmp_path / "rows"
    folder.mkdir()
    for part in range(3):  # one partition per file, each scored in a worker that loads the package
        scoring_input(40, seed=part).to_csv(folder / f"part-{part}.csv", index=False)
    done = regress(
        *("score", "--input", str(folder), "--output", str(tmp_path / "p.parquet")),
        *("--task-runner", "dask", "--dask-workers", "2"),
        home=home,
    )
    assert done.returncode == 0, done.stderr
    assert "scoring 3 partitions" in done.stderr
    [line] = mentions(done.stderr)
    assert line.endswith(WARNING)
    assert "unsigned, signature not checked" in done.stdout


def test_scoring_a_package_signed_with_the_key_warns_of_nothing(home, rows, tmp_path, monkeypatch):
    sign(home, monkeypatch)
    monkeypatch.setenv("REGRESS_SIGNING_KEY", KEY)
    done = regress("score", "--input", rows, "--output", str(tmp_path / "p.parquet"), home=home)
    assert done.returncode == 0, done.stderr
    assert mentions(done.stderr, "signature") == []
    assert "model train@v0001: signed, signature checked" in done.stdout


@pytest.mark.parametrize(
    "command",
    [
        ["score", "--input", "{rows}", "--output", "{out}"],
        ["models", "verify"],
        ["models", "promote", "train@v0001", "--reason", "checked by hand"],
    ],
    ids=["score", "verify", "promote"],
)
def test_an_empty_signing_key_is_one_line_and_exit_2(home, rows, tmp_path, monkeypatch, command):
    monkeypatch.setenv("REGRESS_SIGNING_KEY", "  ")
    args = [arg.format(rows=rows, out=tmp_path / "p.parquet") for arg in command]
    done = (regress_here if command[:2] == ["models", "verify"] else regress)(*args, home=home)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [EMPTY_KEY]
    assert not (tmp_path / "p.parquet").exists()


def test_showing_an_unsigned_version_warns_once(home):
    done = regress_here("models", "show", "train", "--json", home=home)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [f"regress: warning: {WARNING}"]
    assert json.loads(done.stdout)["signature"] == "unsigned"


def test_promoting_an_unsigned_version_warns_once(home):
    shutil.copytree(versions(home) / "v0001", versions(home) / "v0002")  # a second published version
    done = regress("models", "promote", "train@v0002", "--reason", "checked by hand", home=home)
    assert done.returncode == 0, done.stderr
    [line] = mentions(done.stderr)
    assert "WARNING" in line
    assert line.endswith(WARNING.replace("v0001", "v0002"))
    assert "champion of train is now v0002 (was v0001)" in done.stdout


def test_verify_lists_every_version_and_passes_a_good_registry(home):
    shutil.copytree(versions(home) / "v0001", versions(home) / "v0002")
    done = regress_here("models", "verify", home=home)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:2] == [
        "train@v0001  ok      unsigned, signature not checked (REGRESS_SIGNING_KEY is not set)",
        "train@v0002  ok      unsigned, signature not checked (REGRESS_SIGNING_KEY is not set)",
    ]
    assert lines[2].startswith("verified 2 versions of 1 model in ")
    assert lines[2].endswith(": 2 ok, 0 failed")
    assert done.stderr.splitlines() == [
        "regress: warning: signatures were not checked (REGRESS_SIGNING_KEY is not set): the files match their "
        "manifests, but nothing proves who wrote them"
    ]


def test_verify_names_altered_weights_and_exits_4(home):
    shutil.copytree(versions(home) / "v0001", versions(home) / "v0002")
    (versions(home) / "v0002" / "model.pt").write_bytes(b"the attacker's weights")
    done = regress_here("models", "verify", home=home)
    assert done.returncode == 4, done.stderr
    assert "train@v0001  ok      unsigned" in done.stdout
    assert "train@v0002  FAILED  model version v0002 was altered: checksum mismatch in model.pt" in done.stdout
    assert done.stdout.splitlines()[-1].endswith(": 1 ok, 1 failed")
    [error] = [line for line in done.stderr.splitlines() if line.startswith("regress: error:")]
    assert error == "regress: error: 1 of 2 versions failed verification: train@v0002"
    assert done.stderr.splitlines()[-1] == error


def test_verify_with_the_key_checks_signatures(home, monkeypatch):
    shutil.copytree(versions(home) / "v0001", versions(home) / "v0002")
    sign(home, monkeypatch, "v0002")
    monkeypatch.setenv("REGRESS_SIGNING_KEY", KEY)
    done = regress_here("models", "verify", "train@v0002", home=home)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "train@v0002  ok      signed, signature checked"
    assert done.stderr == ""
    done = regress_here("models", "verify", "train", home=home)
    assert done.returncode == 4
    assert (
        "train@v0001  FAILED  model version v0001 is not signed, and REGRESS_SIGNING_KEY is set: it was published "
        "without the key, or altered"
    ) in done.stdout
    assert done.stderr.splitlines() == ["regress: error: 1 of 2 versions failed verification: train@v0001"]


def test_verify_of_an_unknown_model_is_one_line(home):
    done = regress_here("models", "verify", "sales", home=home)
    assert done.returncode == 4
    [line] = done.stderr.splitlines()
    assert line.startswith("regress: error: no model named 'sales' in ")
    assert line.endswith("(models: train)")


def test_a_training_run_that_promotes_an_unsigned_version_says_so_once(tmp_path, monkeypatch):
    from tests.helpers import FAST_ARGS

    monkeypatch.delenv("REGRESS_SIGNING_KEY", raising=False)
    done = regress("train", "--data", "linear", *FAST_ARGS, "--home", str(tmp_path / "home"))
    assert done.returncode == 0, done.stderr
    assert "promoted" in done.stdout
    lines = mentions(done.stdout + done.stderr, "linear@v0001 is not signed, so its signature was not checked")
    assert len(lines) == 1, done.stdout + done.stderr
