"""The train, evaluate and publish stages with model selection, on small tables."""

import numpy as np
import pytest

from regress_core.config import build_config
from regress_core.evaluation.metrics import regression_metrics
from regress_core.pipeline.run import train_pipeline
from regress_core.pipeline.workspace import Workspace
from regress_core.registry.catalog import Registry
from regress_core.registry.package import load_package
from tests.helpers import fast_config, make_table

AUTO = {"kind": "auto", "candidates": ["linear", "mlp"]}


def train(home, tmp_path, df, **sections):
    source = tmp_path / "train.csv"
    df.to_csv(source, index=False)
    values = fast_config(home, data={"source": str(source), "target": "y"}, **sections)
    ref, _ = train_pipeline(build_config(values=values))
    return load_package(Registry(Workspace.at(home).registry_dir).model(ref.model), ref.version)


@pytest.mark.parametrize("features", [{"scaler": "quantile"}, {"scaler": "standard"}])
def test_auto_keeps_ridge_on_a_linear_table_and_the_package_predicts_with_its_view(home, tmp_path, features):
    df = make_table(200)
    package = train(home, tmp_path, df, model=AUTO, features=features)
    training = package.metadata["training"]
    selection = training["selection"]
    assert selection["scheme"] == "5-fold cross-validation"
    assert selection["chosen"] == "linear"
    assert [c["name"] for c in selection["candidates"]] == ["linear", "mlp"]
    assert all(c["val_rmse"] > 0 and c["seconds"] >= 0 for c in selection["candidates"])
    assert selection["budget"]["inputs"] == 2
    assert selection["budget"]["embedded_inputs"] == 2
    assert package.spec.kind == "linear"
    assert package.spec.view == "standard"
    assert training["epochs"] == 0
    assert package.metadata["history"] == []
    # The published test metrics are the package's own predictions on the test rows.
    test_rows = package.metadata["data"]["split_rows"]["test"]
    assert test_rows == 40
    assert package.metadata["metrics"]["r2"] > 0.99


def test_evaluation_equals_the_loaded_package_on_the_test_rows(home, tmp_path):
    from regress_core.data.split import split_frame

    df = make_table(200, seed=3)
    df["y"] = df["y"] + 0.3 * (df["a"] - 5) ** 2  # bent: a network may win
    package = train(home, tmp_path, df, model={**AUTO, "candidates": ["linear", "mlp", "embedding_mlp"]})
    config = package.metadata["config"]["split"]
    test = split_frame(df, test_size=config["test_size"], val_size=config["val_size"], seed=config["seed"]).test
    metrics = regression_metrics(test["y"].to_numpy(dtype="float64"), package.predict(test))
    for name, value in package.metadata["metrics"].items():
        assert metrics[name] == pytest.approx(value, rel=1e-9), name
    chosen = package.metadata["training"]["selection"]["chosen"]
    assert package.spec.kind == chosen
    assert package.spec.n_folds == (1 if chosen == "linear" else 5)
    if chosen != "linear":
        assert package.metadata["training"]["fold_best_epochs"]
        assert package.metadata["history"]
    assert np.isfinite(package.predict(df)).all()


def test_fit_frames_does_the_scale_and_train_stages_in_memory():
    from regress_core.data.contract import infer_contract
    from regress_core.pipeline.frames import fit_frames

    df = make_table(150)
    values = fast_config("unused", model=AUTO)
    fitted = fit_frames(df.iloc[:100], df.iloc[100:130], infer_contract(df, target="y"), build_config(values=values))
    assert fitted.selection.chosen == "linear"
    assert fitted.selection.spec.view == "standard"
    prediction = fitted.predict(df.iloc[130:])
    assert prediction.shape == (20,)
    assert regression_metrics(df["y"].to_numpy()[130:], prediction)["r2"] > 0.99


@pytest.mark.parametrize(
    "values", [{"model": {"kind": "linear"}}, {"preset": "linear"}], ids=["kind-linear-default-preset", "linear-preset"]
)
def test_an_explicit_linear_model_matches_linear_regression_on_the_tutorial_line(home, values):
    config = build_config(values={**values, "data": {"source": "linear"}, "registry": {"home": home}})
    ref, _ = train_pipeline(config)
    package = load_package(Registry(Workspace.at(home).registry_dir).model(ref.model), ref.version)
    assert (package.spec.kind, package.spec.view) == ("linear", "standard")
    assert package.metadata["training"]["epochs"] == 0  # closed form
    r2, baseline = package.metadata["metrics"]["r2"], package.metadata["baselines"]["linear_regression"]["r2"]
    assert baseline > 0.97
    assert r2 >= baseline - 0.005
    # Scoring reads the saved view: the package's predictions on the test rows give the published metrics.
    from regress_core.data.sources import load_source
    from regress_core.data.split import split_frame

    split = package.metadata["config"]["split"]
    test = split_frame(
        load_source("linear"), test_size=split["test_size"], val_size=split["val_size"], seed=split["seed"]
    ).test
    assert regression_metrics(test["y"].to_numpy(dtype="float64"), package.predict(test))["r2"] == pytest.approx(
        r2, rel=1e-9
    )
