"""Named models: references, one champion per model, a registry from before names, fair comparisons."""

import json
import shutil

import pandas as pd
import pytest

from regress_core.config import build_config
from regress_core.data.split import split_frame
from regress_core.errors import RegistryError
from regress_core.pipeline.run import train_pipeline
from regress_core.pipeline.workspace import Workspace
from regress_core.registry.catalog import Registry, model_name_for, parse_reference
from regress_core.registry.manifest import write_manifest
from tests.helpers import fast_config, make_table


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        (None, (None, "champion")),
        ("champion", (None, "champion")),
        ("v0003", (None, "v0003")),
        ("sales", ("sales", "champion")),
        ("sales@v0003", ("sales", "v0003")),
        ("sales@champion", ("sales", "champion")),
        ("sales@", ("sales", "champion")),
    ],
)
def test_references_name_a_model_a_version_or_both(reference, expected):
    assert parse_reference(reference) == expected


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("sales@3", "invalid model version '3' in 'sales@3'"),
        ("../etc", "invalid model name '../etc'"),
        ("a b@v0001", "invalid model name 'a b'"),
    ],
)
def test_malformed_references_are_refused(reference, message):
    with pytest.raises(RegistryError, match=message):
        parse_reference(reference)


def test_names_made_from_files_are_valid():
    assert model_name_for("My Sales 2024") == "my_sales_2024"
    assert model_name_for("v0001") == "model_v0001"
    assert model_name_for("***") == "model"


def train(home, tmp_path, df, name, **sections):
    source = tmp_path / f"{name}.csv"
    df.to_csv(source, index=False)
    return train_pipeline(
        build_config(values=fast_config(home, data={"source": str(source), "target": "y"}, **sections))
    )


def test_each_model_has_its_own_versions_and_champion(tmp_path):
    home = str(tmp_path / "home")
    sales, _ = train(home, tmp_path, make_table(200, seed=0), "sales")
    # Another table whose target is on a scale the sales champion could never match.
    other = make_table(200, seed=1).assign(y=lambda df: df.y * 1000)
    rents, decision = train(home, tmp_path, other, "rents")
    assert (str(sales), str(rents)) == ("sales@v0001", "rents@v0001")
    assert decision.promote
    assert decision.bootstrap
    named, _ = train(home, tmp_path, make_table(200, seed=2), "x", registry={"model": "sales"})
    assert str(named) == "sales@v0002"
    registry = Registry(Workspace.at(home).registry_dir)
    assert registry.models() == ["rents", "sales"]
    assert registry.model("sales").versions() == ["v0001", "v0002"]
    assert registry.model("rents").champion() == "v0001"
    assert registry.resolve("rents")[1] == rents
    assert str(registry.resolve("sales@v0002")[1]) == "sales@v0002"
    with pytest.raises(RegistryError, match=r"holds 2 models \(rents, sales\): name one, e.g. --model rents"):
        registry.resolve("champion")
    with pytest.raises(RegistryError, match=r"no model named 'prices' .* \(models: rents, sales\)"):
        registry.resolve("prices")
    assert {entry["model"] for entry in registry.model("rents").history()} == {"rents"}


def test_a_registry_from_before_named_models_is_read_as_one_model_in_place(tmp_path):
    home = str(tmp_path / "home")
    train(home, tmp_path, make_table(200, seed=0), "sales")
    root = Workspace.at(home).registry_dir
    # The old layout: one model's files at the registry's root, packages without a model name.
    for item in (root / "models" / "sales").iterdir():
        shutil.move(str(item), str(root / item.name))
    shutil.rmtree(root / "models")
    package = root / "versions" / "v0001"
    metadata = json.loads((package / "package.json").read_text())
    del metadata["model"]
    (package / "package.json").write_text(json.dumps(metadata))
    write_manifest(package)
    registry = Registry(root)
    assert registry.models() == ["sales"]  # named after the contract of its newest version
    model, ref = registry.resolve("champion")
    assert model.root == root
    assert str(ref) == "sales@v0001"
    model.verify("v0001")
    again, _ = train(home, tmp_path, make_table(200, seed=3), "sales")
    assert str(again) == "sales@v0002"
    assert (root / "versions" / "v0002" / "manifest.json").is_file()
    train(home, tmp_path, make_table(200, seed=4), "rents")
    assert registry.models() == ["rents", "sales"]
    assert (root / "models" / "rents" / "versions" / "v0001").is_dir()


def test_a_retrain_on_a_newer_snapshot_is_compared_on_rows_neither_model_has_seen(tmp_path):
    home = str(tmp_path / "home")
    first = make_table(400, seed=0)
    second = pd.concat([first.iloc[100:], make_table(100, seed=7)], ignore_index=True)  # shares 300 rows
    train(home, tmp_path, first, "prices")
    ref, decision = train(home, tmp_path, second, "prices", gate={"min_comparison_rows": 10})
    assert str(ref) == "prices@v0002"
    assert decision.champion == "v0001"
    # The expected counts, by value, from the splits both runs made (the default split settings).
    split_first = split_frame(first, test_size=0.2, val_size=0.1, seed=42)
    split_second = split_frame(second, test_size=0.2, val_size=0.1, seed=42)
    seen_first = pd.concat([split_first.train, split_first.val])
    test = split_second.test
    seen = test.merge(seen_first, on=["a", "b", "y"], how="inner")
    assert 0 < len(seen) < len(test)
    comparison = decision.comparison
    assert (comparison.test_rows, comparison.seen_by_champion, comparison.seen_by_candidate) == (
        len(test),
        len(seen),
        0,
    )
    assert comparison.rows == len(test) - len(seen)
    assert comparison.unseen_only
    text = next(check.text for check in decision.checks if check.name == "champion")
    assert (
        f"on {len(test) - len(seen)} of {len(test)} test rows unseen by both models "
        f"(left out: 0 seen by the candidate, {len(seen)} by the champion)"
    ) in text
    assert "95% bootstrap interval of the difference [" in text
    recorded = Registry(Workspace.at(home).registry_dir).model("prices").decisions("v0002")[-1]
    assert recorded["comparison"]["rows"] == comparison.rows
    # The test rows' drift against the champion's training rows is measured and recorded, by numeric feature.
    assert sorted(decision.drift) == ["a", "b"]
    assert recorded["drift"] == decision.drift
    assert recorded["comparison"]["interval"] == list(comparison.interval)
