"""Damaged registry files through the command line: one line, exit 4, nothing changed, and a repair."""

import shutil
from pathlib import Path

import pytest

from tests.helpers import FAST_ARGS, one_error_line, registry_snapshot, regress, regress_here, train_package


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    home = tmp_path_factory.mktemp("damage-cli") / "home"
    train_package(str(home), seed=0)
    train_package(str(home), seed=1)
    return home


def model_dir(home: Path) -> Path:
    return home / "registry" / "models" / "train"


def truncate_champion(home: Path) -> None:
    (model_dir(home) / "champion.json").write_text('{"version": "v00')


def champion_not_a_string(home: Path) -> None:
    (model_dir(home) / "champion.json").write_text('{"version": ["v0001"]}')


def damage_history(home: Path) -> None:
    path = model_dir(home) / "history.jsonl"
    path.write_text("not json\n" + path.read_text())


def empty_package(home: Path) -> None:
    (model_dir(home) / "versions" / "v0001" / "package.json").write_text("")


def damage_manifest(home: Path) -> None:
    (model_dir(home) / "versions" / "v0001" / "manifest.json").write_text("{")


def damage_decisions(home: Path) -> None:
    (model_dir(home) / "decisions" / "v0002.jsonl").write_text("}\n")


SCORE = ["score", "--input", "{rows}", "--output", "{out}"]
CASES = [
    (truncate_champion, ["models", "list"], "champion.json is damaged (not valid JSON"),
    (truncate_champion, ["models", "show", "train"], "champion.json is damaged (not valid JSON"),
    (truncate_champion, [*SCORE, "--model", "train"], "champion.json is damaged (not valid JSON"),
    (truncate_champion, ["models", "rollback", "train", "--reason", "bad scores"], "champion.json is damaged"),
    (truncate_champion, ["train", "--data", "{data}", "--target", "y", *FAST_ARGS], "champion.json is damaged"),
    (champion_not_a_string, ["models", "show", "train"], "its version ['v0001'] is not a version name"),
    (damage_history, ["models", "history"], "history.jsonl is damaged (line 1 is not a JSON record"),
    (damage_history, ["train", "--data", "{data}", "--target", "y", *FAST_ARGS], "history.jsonl is damaged"),
    (empty_package, ["models", "list"], "package.json is damaged (it is empty)"),
    (
        empty_package,
        ["models", "show", "train@v0001"],
        "model version v0001 was altered: checksum mismatch in package.json",
    ),
    (damage_manifest, [*SCORE, "--model", "train@v0001"], "model version train@v0001 has an unreadable manifest"),
    (damage_decisions, ["models", "show", "train@v0002"], "v0002.jsonl is damaged (line 1 is not a JSON record"),
]


@pytest.mark.parametrize(
    ("damage", "args", "message"), CASES, ids=[f"{case[0].__name__}-{case[1][0]}-{i}" for i, case in enumerate(CASES)]
)
def test_a_damaged_registry_file_is_one_line_and_exit_4_and_changes_nothing(trained, tmp_path, damage, args, message):
    home = tmp_path / "home"
    shutil.copytree(trained, home)
    damage(home)
    before = registry_snapshot(home)
    out = tmp_path / "out.parquet"
    (tmp_path / "rows.csv").write_text("a,b\n1.0,2.0\n")
    filled = [arg.format(rows=tmp_path / "rows.csv", out=out, data=home / "train.csv") for arg in args]
    # Reading commands run here; those that score, train or change the champion in a child, as a user runs them.
    run = regress_here if args[:2] in (["models", "list"], ["models", "show"], ["models", "history"]) else regress
    one_error_line(run(*filled, "--home", str(home)), 4, message)
    assert registry_snapshot(home) == before  # byte for byte
    assert not out.exists()


def test_repair_mends_the_registry_and_the_commands_work_again(trained, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(trained, home)
    champion = (model_dir(home) / "champion.json").read_text()
    truncate_champion(home)
    damage_history(home)
    done = regress_here("models", "repair", "--home", str(home))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("train: moved 1 damaged line(s) of history.jsonl to history.jsonl.damaged; rebuilt")
    assert regress_here("models", "list", "--home", str(home)).returncode == 0
    assert (model_dir(home) / "champion.json").read_text() == champion  # rebuilt from the history's last entry
    assert regress_here("models", "repair", "train", "--home", str(home)).stdout == "train: nothing to repair\n"
