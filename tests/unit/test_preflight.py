"""Preflight: a run that would fail late is refused in one line before any work, and nothing is written."""

import os
import shutil
import time
from pathlib import Path

import pandas as pd
import pytest

from regress_core.config import ScoringConfig, build_config
from regress_core.errors import ConfigError, DataError, RegistryError, StorageError
from regress_core.pipeline.preflight import expected_model_name, preflight_scoring, preflight_training
from regress_core.pipeline.run import train_pipeline
from tests.helpers import fast_config, make_table, train_package


def config_for(home: Path, source: str, **data):
    return build_config(values=fast_config(str(home), data={"source": source, "target": "y", **data}))


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("preflight") / "home"
    train_package(str(home))
    return home


def test_a_truncated_champion_pointer_stops_training_before_any_stage_runs(trained, tmp_path):
    home = tmp_path / "home"
    (home / "registry" / "models" / "train").mkdir(parents=True)
    pointer = trained / "registry" / "models" / "train" / "champion.json"
    (home / "registry" / "models" / "train" / "champion.json").write_text(pointer.read_text()[:9])
    config = config_for(home, str(trained / "train.csv"))
    with pytest.raises(RegistryError, match=r"champion.json is damaged \(not valid JSON"):
        train_pipeline(config)
    assert not (home / "cache").exists()  # not one stage ran


def test_the_model_checked_is_the_one_the_run_will_publish(tmp_path):
    table = tmp_path / "My Sales.csv"
    make_table(40).to_csv(table, index=False)
    assert expected_model_name(config_for(tmp_path, str(table))) == "my_sales"
    assert expected_model_name(config_for(tmp_path, "linear")) == "linear"
    named = build_config(values={**fast_config(str(tmp_path)), "registry": {"home": str(tmp_path), "model": "prices"}})
    assert expected_model_name(named) == "prices"


def test_a_workspace_that_cannot_be_written_is_refused_naming_the_folder(trained):
    config = config_for(Path("/sys/regress-home"), str(trained / "train.csv"))
    with pytest.raises(StorageError, match=r"^the workspace /sys/regress-home cannot be written: /sys is not writable"):
        preflight_training(config)


def test_a_workspace_without_room_for_the_run_is_refused_with_the_space_needed(tmp_path):
    huge = tmp_path / "huge.csv"
    with open(huge, "wb") as handle:
        handle.truncate(shutil.disk_usage(tmp_path).free)  # sparse: three copies of it cannot fit
    with pytest.raises(StorageError, match=r"has \d+ MB free and this run needs about \d+ MB"):
        preflight_training(config_for(tmp_path / "home", str(huge)))
    assert not (tmp_path / "home").exists()


@pytest.fixture
def nul_file(tmp_path) -> Path:
    path = tmp_path / "rows.csv"
    with open(path, "wb") as handle:
        handle.truncate(2 << 30)  # 2 GB of NUL bytes (sparse: costs no disk)
    return path


def test_a_two_gigabyte_nul_file_is_refused_after_its_first_bytes(nul_file, tmp_path):
    params = ScoringConfig(input=str(nul_file), output=str(tmp_path / "out.parquet"), home=str(tmp_path / "home"))
    started = time.monotonic()
    with pytest.raises(DataError, match=r"rows.csv is neither CSV nor Parquet: it holds binary data \(a NUL byte at"):
        preflight_scoring(params, [str(nul_file)])
    assert time.monotonic() - started < 30  # reading the whole file would take far longer than a look at its head
    with pytest.raises(DataError, match="neither CSV nor Parquet"):
        preflight_training(config_for(tmp_path / "home", str(nul_file)))


def test_parquet_without_its_footer_and_text_that_is_not_utf8_are_refused(tmp_path):
    good = tmp_path / "good.parquet"
    pd.DataFrame({"a": [1.0], "b": [2.0]}).to_parquet(good)
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(good.read_bytes()[:-10])
    latin = tmp_path / "latin.csv"
    latin.write_bytes("a,b\ncafé,1\n".encode("latin-1"))
    home = str(tmp_path / "home")
    for path, message in ((cut, "has no Parquet footer"), (latin, "is not UTF-8 text")):
        with pytest.raises(DataError, match=message):
            preflight_scoring(
                ScoringConfig(input=str(path), output=str(tmp_path / "o.parquet"), home=home), [str(path)]
            )
    preflight_scoring(ScoringConfig(input=str(good), output=str(tmp_path / "o.parquet"), home=home), [str(good)])


def test_an_output_folder_that_cannot_be_written_is_refused(tmp_path):
    rows = tmp_path / "rows.csv"
    rows.write_text("a,b\n1,2\n")
    params = ScoringConfig(input=str(rows), output="/sys/scores/out.parquet", home=str(tmp_path / "home"))
    with pytest.raises(StorageError, match=r"^--output's folder /sys/scores cannot be written"):
        preflight_scoring(params, [str(rows)])
    assert not os.path.exists("/sys/scores")


def test_an_empty_signing_key_stops_training_before_any_stage_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("REGRESS_SIGNING_KEY", "  ")
    with pytest.raises(ConfigError, match=r"^REGRESS_SIGNING_KEY is set but empty"):
        train_pipeline(config_for(tmp_path / "home", "linear"))
    assert not (tmp_path / "home" / "cache").exists()
