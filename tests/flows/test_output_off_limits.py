"""Outputs pointed into the workspace's managed folders are refused in one line, and the champion still scores."""

import os
from pathlib import Path

import pandas as pd
import pytest

from regress_core.config import ScoringConfig
from regress_core.errors import ConfigError
from tests.helpers import one_error_line, registry_snapshot, regress, regress_here, scoring_input, train_package


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("off-limits") / "home"
    train_package(str(home))
    return home


def version_dir(home: Path) -> Path:
    return home / "registry" / "models" / "train" / "versions" / "v0001"


@pytest.fixture
def rows_csv(tmp_path) -> Path:
    path = tmp_path / "rows.csv"
    scoring_input(50).to_csv(path, index=False)
    return path


def test_score_output_inside_a_model_version_is_refused_and_the_champion_still_scores(trained, tmp_path, rows_csv):
    before = registry_snapshot(trained)
    inside = version_dir(trained) / "preds.parquet"
    line = one_error_line(
        regress("score", "--input", str(rows_csv), "--output", str(inside), "--home", str(trained)), 2
    )
    assert f"is inside the workspace's managed folder {trained.resolve() / 'registry'}" in line
    assert not inside.exists()
    assert registry_snapshot(trained) == before  # byte for byte

    out = tmp_path / "preds.parquet"
    done = regress("score", "--input", str(rows_csv), "--output", str(out), "--home", str(trained), served=True)
    assert done.returncode == 0, done.stderr
    assert len(pd.read_parquet(out)) == 50


def test_a_symlink_or_dot_dot_into_the_cache_is_refused(trained, tmp_path, rows_csv):
    link = tmp_path / "scores"
    link.symlink_to(trained / "registry" / "models" / "train")
    for target in (link / "preds.parquet", tmp_path / ".." / tmp_path.name / "scores" / "p.parquet"):
        line = one_error_line(
            regress("score", "--input", str(rows_csv), "--output", str(target), "--home", str(trained)), 2
        )
        assert "managed folder" in line
        assert "registry" in line
    via_dots = trained / "reports" / ".." / "cache" / "preds.parquet"
    line = one_error_line(
        regress("score", "--input", str(rows_csv), "--output", str(via_dots), "--home", str(trained)), 2
    )
    assert f"managed folder {trained.resolve() / 'cache'}" in line


def test_a_hard_link_to_a_package_file_is_refused(trained, tmp_path, rows_csv):
    package_file = next(path for path in version_dir(trained).iterdir() if path.is_file())
    link = tmp_path / "preds.parquet"
    os.link(package_file, link)
    before = package_file.read_bytes()
    line = one_error_line(regress("score", "--input", str(rows_csv), "--output", str(link), "--home", str(trained)), 2)
    assert "managed folder" in line
    assert package_file.read_bytes() == before


def test_contract_output_inside_the_registry_is_refused(trained, tmp_path, rows_csv):
    before = registry_snapshot(trained)
    inside = version_dir(trained) / "contract.yaml"
    done = regress_here(
        "contract",
        "infer",
        str(trained / "train.csv"),
        "--target",
        "y",
        "--output",
        str(inside),
        "--home",
        str(trained),
    )
    assert "managed folder" in one_error_line(done, 2)
    assert registry_snapshot(trained) == before


def test_the_scoring_flow_refuses_it_too_when_started_from_the_ui(trained, rows_csv):
    """A run started from the UI or a deployment goes through the flow's first task, not the CLI."""
    from flows.scoring import batch_scoring

    before = registry_snapshot(trained)
    params = ScoringConfig(input=str(rows_csv), output=str(version_dir(trained) / "p.parquet"), home=str(trained))
    with pytest.raises(ConfigError, match="managed folder"):
        batch_scoring(params=params)
    assert registry_snapshot(trained) == before
