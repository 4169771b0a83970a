"""`regress models show`: the model card printed and saved beside the package; `--json` for scripts."""

import json
import shutil
from pathlib import Path

import pytest

from tests.helpers import regress_here


@pytest.fixture
def home(trained_home, tmp_path, monkeypatch) -> Path:
    """A copy of the session's trained workspace (model `train`, v0001 its champion), with no signing key."""
    monkeypatch.delenv("REGRESS_SIGNING_KEY", raising=False)
    shutil.copytree(trained_home, tmp_path / "home")
    return tmp_path / "home"


def model_dir(home: Path) -> Path:
    return home / "registry" / "models" / "train"


def test_models_show_prints_the_card_and_saves_it_beside_the_package(home):
    done = regress_here("models", "show", "train@v0001", home=str(home))
    assert done.returncode == 0, done.stderr
    card = model_dir(home) / "cards" / "v0001.md"
    assert done.stdout == card.read_text()
    assert done.stdout.startswith("# Model card: train@v0001\n\n- champion: yes\n")
    metadata = json.loads((model_dir(home) / "versions" / "v0001" / "package.json").read_text())
    [row] = [line for line in done.stdout.splitlines() if line.startswith("| this model |")]
    shown = [float(cell) for cell in row.strip("|").split("|")[1:]]
    assert shown == [round(metadata["metrics"][key], 4) for key in ("mse", "rmse", "mae", "r2")]
    assert done.stderr.splitlines()[-1] == f"regress: model card saved to {card}"
    # The card lies outside the sealed version: every version still verifies.
    assert regress_here("models", "verify", home=str(home)).returncode == 0


def test_models_show_json_prints_the_package_metadata_as_before(home):
    done = regress_here("models", "show", "train@v0001", "--json", home=str(home))
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert (shown["model"], shown["version"], shown["champion"], shown["signature"]) == (
        "train",
        "v0001",
        True,
        "unsigned",
    )
    assert shown["decisions"][0]["promote"] is True
    assert not (model_dir(home) / "cards").exists()


def test_a_registry_that_cannot_be_written_still_prints_the_card_and_warns(home):
    (model_dir(home) / "cards").write_text("")  # a file where the cards folder goes: the write fails
    done = regress_here("models", "show", "train", home=str(home))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("# Model card: train@v0001\n")
    assert done.stderr.splitlines()[-1] == (
        f"regress: warning: the model card was not saved (cannot write {model_dir(home)}/cards/v0001.md: "
        "File exists); it is printed above only"
    )
