"""Two named models in one workspace, through the command line as a user runs it."""

import json

import pandas as pd
import pyarrow.parquet as pq

from tests.helpers import FAST_ARGS, regress, regress_here

ARGS = [*FAST_ARGS, "--set", "gate.r2_min=null"]


def test_two_tables_in_one_workspace_each_train_their_own_champion(home, tmp_path):
    for data in ("parabola", "linear"):
        done = regress("train", "--data", data, *ARGS, home=home, served=True)
        assert done.returncode == 0, done.stderr
        # Each is judged against no champion of its own: the parabola champion is not the linear one's.
        assert f"decision: {data}@v0001 promoted: first champion (bootstrap)" in done.stdout
    listed = json.loads(regress_here("models", "list", "--json", home=home).stdout)
    assert all("model" in row for row in listed)
    assert sorted((row["model"], row["version"]) for row in listed if row["champion"]) == [
        ("linear", "v0001"),
        ("parabola", "v0001"),
    ]
    table = regress_here("models", "list", home=home).stdout
    assert "model linear (champion: v0001)" in table
    assert "model parabola (champion: v0001)" in table

    pd.DataFrame({"x": [-4.0, 0.0, 4.0]}).to_csv(tmp_path / "rows.csv", index=False)
    predictions = {}
    for model in ("parabola", "linear@v0001"):
        output = tmp_path / f"{model.split('@')[0]}.parquet"
        done = regress(
            "score",
            "--input",
            str(tmp_path / "rows.csv"),
            "--output",
            str(output),
            "--model",
            model,
            home=home,
            served=True,
        )
        assert done.returncode == 0, done.stderr
        name = model.split("@")[0]
        assert f"with model {name}@v0001" in done.stdout
        metadata = pq.read_metadata(output).metadata
        assert metadata[b"regress.model"] == name.encode()
        assert metadata[b"regress.model_version"] == b"v0001"
        predictions[name] = pd.read_parquet(output).prediction.tolist()
    assert predictions["linear"][0] < predictions["linear"][1] < predictions["linear"][2]  # y = 2x + 1
    assert predictions["parabola"][1] < min(predictions["parabola"][0], predictions["parabola"][2])  # y = x^2

    ambiguous = regress(
        "score", "--input", str(tmp_path / "rows.csv"), "--output", str(tmp_path / "o.parquet"), home=home, served=True
    )
    assert ambiguous.returncode == 4
    assert "holds 2 models (linear, parabola): name one, e.g. --model linear" in ambiguous.stderr
    assert not (tmp_path / "o.parquet").exists()

    # A second linear version the gate refuses; promote it by hand, roll back, and audit, by name.
    strict = ["--set", "gate.r2_min=0.99999"]
    second = regress("train", "--data", "linear", "--set", "data.seed=3", *ARGS, *strict, home=home, served=True)
    assert second.returncode == 0
    assert "decision: linear@v0002 not promoted: failed r2_min" in second.stdout
    promoted = regress("models", "promote", "linear@v0002", "--reason", "checked by hand", home=home, served=True)
    assert promoted.returncode == 0, promoted.stderr
    assert "champion of linear is now v0002 (was v0001)" in promoted.stdout
    assert regress("models", "rollback", "--reason", "too soon", home=home, served=True).returncode == 4  # which model?
    rolled = regress("models", "rollback", "linear", "--reason", "too soon", home=home, served=True)
    assert rolled.returncode == 0
    assert "champion of linear is now v0001 (was v0002)" in rolled.stdout
    history = json.loads(regress_here("models", "history", "linear", "--json", home=home).stdout)
    assert [(entry["model"], entry["action"], entry["version"]) for entry in history][-2:] == [
        ("linear", "manual-promote", "v0002"),
        ("linear", "rollback", "v0001"),
    ]
    parabola = json.loads(regress_here("models", "history", "parabola", "--json", home=home).stdout)
    assert [(entry["model"], entry["action"]) for entry in parabola] == [("parabola", "bootstrap")]
