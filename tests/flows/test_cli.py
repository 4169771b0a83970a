"""The `regress` command as a user runs it: exit codes and the one line they read."""

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from tests.helpers import FAST_ARGS, make_table, model_registry, regress, regress_here

FAST = FAST_ARGS


def test_train_then_list_and_show(home):
    # With no server configured, as on a fresh machine: the command starts a temporary one of its own.
    done = regress("train", "--data", "linear", *FAST, home=home, served=False)
    assert done.returncode == 0, done.stderr
    assert "decision: linear@v0001 promoted: first champion (bootstrap)" in done.stdout
    assert "this model" in done.stdout
    assert "linear regression" in done.stdout
    listed = json.loads(regress_here("models", "list", "--json", home=home).stdout)
    assert (listed[0]["model"], listed[0]["version"], listed[0]["champion"]) == ("linear", "v0001", True)
    assert set(listed[0]["metrics"]) >= {"mse", "rmse", "mae", "r2"}
    assert listed[0]["created_at"]
    shown = json.loads(regress_here("models", "show", "champion", "--json", home=home).stdout)
    assert shown["version"] == "v0001"
    assert shown["model"] == "linear"
    assert shown["decisions"][0]["promote"] is True
    # The gate wrote the card; no server outlives the command, so the flow run is named, not linked.
    card = (Path(home) / "registry" / "models" / "linear" / "cards" / "v0001.md").read_text()
    assert f"- made by flow run: {shown['run']} (set PREFECT_UI_URL or PREFECT_API_URL to link it)" in card
    assert shown["run"]
    table = regress_here("models", "list", home=home).stdout
    assert "model linear (champion: v0001)" in table
    assert "* v0001" in table


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["train", "--set", "train.lr=-1"],
            2,
            "regress: error: invalid configuration: train.lr: Input should be greater than 0",
        ),
        (["train", "--set", "model.nope=1"], 2, "model.nope: unknown key"),
        (["train", "--data", "missing.csv", "--target", "y"], 3, "regress: error: input not found"),
        (["train", "--config", "nope.yaml"], 2, "configuration file not found"),
        (["models", "show", "../x"], 4, "invalid model name '../x'"),
        (["models", "show", "x@../v1"], 4, "invalid model version '../v1'"),
        (["models", "show", "v0009"], 4, "no models yet in"),
        (["models", "show", "sales@v0009"], 4, "no model named 'sales'"),
    ],
)
def test_errors_are_one_line_with_a_distinct_exit_code(home, args, code, message):
    done = (regress_here if args[0] == "models" else regress)(*args, home=home)
    assert done.returncode == code, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--debug", "train", "--config", "nope.yaml"],
        ["train", "--debug", "--config", "nope.yaml"],
        ["train", "--config", "nope.yaml", "--debug"],
    ],
)
def test_debug_shows_the_traceback_and_its_cause_wherever_it_is_placed(home, args):
    done = regress(*args, home=home)
    assert done.returncode != 0
    assert "ConfigError: configuration file not found: nope.yaml" in done.stderr
    assert "FileNotFoundError" in done.stderr
    assert "direct cause" in done.stderr


def test_failed_validation_exits_3_and_publishes_nothing(home, tmp_path):
    path = tmp_path / "bad.csv"
    make_table().assign(a=lambda d: d.a.astype(object).where(d.index != 2, "n/a")).to_csv(path, index=False)
    contract = tmp_path / "contract.yaml"
    contract.write_text("target: y\ncolumns: [{name: a}, {name: b}, {name: y}]\nmin_rows: 10\n")
    done = regress("train", "--data", str(path), "--contract", str(contract), *FAST, home=home)
    assert done.returncode == 3
    [line] = [line for line in done.stderr.splitlines() if line.startswith("regress: error:")]
    assert line.startswith("regress: error: data validation failed: 1 of")
    assert "a: values must be numeric (1 of 120 rows) (e.g. 'n/a')" in line
    assert "Traceback" not in done.stderr
    assert json.loads(regress_here("models", "list", "--json", home=home).stdout) == []


def test_contract_infer_writes_an_editable_contract(tmp_path):
    make_table().to_csv(tmp_path / "t.csv", index=False)
    done = regress_here(
        "contract", "infer", str(tmp_path / "t.csv"), "--target", "y", "--output", str(tmp_path / "c.yaml")
    )
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "c.yaml").read_text()
    assert "target: y" in text
    assert "name: a" in text


def test_no_models_yet(home):
    assert regress_here("models", "list", home=home).stdout.startswith("no models yet")
    done = regress_here("models", "show", "champion", home=home)
    assert done.returncode == 4
    assert "no models yet" in done.stderr


def test_score_after_train_as_a_new_user_would(home, tmp_path):
    assert regress("train", "--data", "linear", *FAST, home=home).returncode == 0
    pd.DataFrame({"id": [7, 8, 9], "x": [0.0, 5.0, 10.0]}).to_csv(tmp_path / "new.csv", index=False)
    done = regress(
        "score",
        "--input",
        str(tmp_path / "new.csv"),
        "--output",
        str(tmp_path / "pred.parquet"),
        "--keep",
        "id",
        home=home,
    )
    assert done.returncode == 0, done.stderr
    assert "scored 3 of 3 rows from 1 file(s) with model linear@v0001" in done.stdout
    assert "rows/s over" in done.stdout
    assert "read " in done.stdout
    assert "model (" in done.stdout
    out = pd.read_parquet(tmp_path / "pred.parquet")
    assert out.id.tolist() == ["7", "8", "9"]  # a kept CSV column comes out as written, as text
    assert out.prediction.is_monotonic_increasing  # y = 2x + 1


def test_score_refuses_bad_rows_with_exit_3(trained_home, tmp_path):
    home = str(tmp_path / "home")
    shutil.copytree(trained_home, home)  # a champion trained on columns a and b
    pd.DataFrame({"a": ["1.0", "oops"], "b": ["2.0", "3.0"]}).to_csv(tmp_path / "bad.csv", index=False)
    done = regress("score", "--input", str(tmp_path / "bad.csv"), "--output", str(tmp_path / "p.parquet"), home=home)
    assert done.returncode == 3
    assert "regress: error: scoring input failed validation: 1 rows in" in done.stderr
    assert "row 1: a is not numeric" in done.stderr
    assert not (tmp_path / "p.parquet").exists()


def test_score_without_a_champion(home, tmp_path):
    pd.DataFrame({"x": [1.0]}).to_csv(tmp_path / "in.csv", index=False)
    done = regress("score", "--input", str(tmp_path / "in.csv"), "--output", str(tmp_path / "p.parquet"), home=home)
    assert done.returncode == 4
    assert "no models yet" in done.stderr


def test_messy_table_trains_and_scores_with_one_command(home, tmp_path):
    from tests.helpers import make_mixed_table

    make_mixed_table().to_csv(tmp_path / "listings.csv", index=False)
    done = regress(
        "train",
        "--data",
        str(tmp_path / "listings.csv"),
        "--target",
        "price",
        *FAST,
        "--set",
        "train.max_epochs=40",
        home=home,
    )
    assert done.returncode == 0, done.stderr
    assert (
        "inferred contract: target price; numeric size, age (nullable); categorical city (3 categories); "
        "identifier listing_id (not a feature)" in done.stdout
    )
    # The version explains itself: every feature's importance and the error by city, its one categorical feature.
    model = model_registry(home)
    [version] = model.versions()
    metadata, package = model.metadata(version), model.version_dir(version)
    assert {row["feature"] for row in metadata["importance"]} == {"size", "city", "age"}
    assert metadata["error_by_category"]["feature"] == "city"
    for name in ("predicted_vs_actual", "residuals", "error_by_category", "loss_curves", "importance"):
        assert (package / "plots" / f"{name}.png").is_file(), name
    report = (package / "report.html").read_text()
    assert "<h2>What drives the predictions</h2>" in report
    assert "<h2>Prediction intervals</h2>" in report
    assert "Test RMSE for each category of city, the most important categorical feature;" in report
    new = make_mixed_table(20, seed=9).drop(columns="price")
    new.loc[[0, 1], "city"] = "west"
    new.loc[[2, 3], "age"] = None
    new.to_csv(tmp_path / "new.csv", index=False)
    scored = regress(
        "score",
        "--input",
        str(tmp_path / "new.csv"),
        "--output",
        str(tmp_path / "p.parquet"),
        "--keep",
        "listing_id",
        home=home,
    )
    assert scored.returncode == 0, scored.stderr
    assert "categories not seen in training (encoded as none of the known ones): city (2 rows)" in scored.stdout
    out = pd.read_parquet(tmp_path / "p.parquet")
    assert out.listing_id.tolist() == new.listing_id.tolist()
    assert out.prediction.notna().all()


def test_stray_text_in_a_numeric_column_is_refused_by_name(home, tmp_path):
    from tests.helpers import make_mixed_table

    make_mixed_table().assign(size=lambda d: d["size"].astype(object).where(d.index != 4, "n/a")).to_csv(
        tmp_path / "t.csv", index=False
    )
    done = regress("train", "--data", str(tmp_path / "t.csv"), "--target", "price", *FAST, home=home)
    assert done.returncode == 3
    assert "column 'size' holds numbers and stray text such as 'n/a'" in done.stderr
