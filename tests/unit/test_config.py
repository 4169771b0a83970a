from typing import get_args

import pytest

from regress_core.config import PRESETS, RegressConfig, build_config
from regress_core.errors import ConfigError


def test_defaults_validate_and_nothing_touches_disk(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = RegressConfig()
    assert config.preset == "default"
    assert config.split.test_size == 0.2
    assert config.split.seed == 42
    assert list(tmp_path.iterdir()) == []


def test_preset_fills_fields_the_user_did_not_set():
    config = build_config(values={"preset": "notebook", "train": {"max_epochs": 7}})
    assert config.train.batch_size == 0
    assert config.train.optimizer == "adam"
    assert config.train.max_epochs == 7
    assert config.model.hidden_sizes == [64, 32]


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_builds(name):
    assert build_config(values={"preset": name}).preset == name


def test_linear_preset_is_one_linear_layer():
    assert build_config(values={"preset": "linear"}).model.kind == "linear"


def test_file_then_values_then_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  lr: 0.5\n  max_epochs: 3\nmodel:\n  dropout: 0.2\n")
    config = build_config(
        path=path, values={"train": {"lr": 0.25}}, overrides=["train.max_epochs=9", "model.hidden_sizes=[8, 4]"]
    )
    assert config.train.lr == 0.25
    assert config.train.max_epochs == 9
    assert config.model.dropout == 0.2
    assert config.model.hidden_sizes == [8, 4]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["train.lr=-1"], "train.lr: Input should be greater than 0"),
        (["train.bogus=1"], "train.bogus: unknown key"),
        (["model.hidden_sizes=[0]"], "hidden_sizes must all be positive"),
        (["split.test_size=1.5"], "split.test_size: Input should be less than 1"),
        (["train.max_epochs=ten"], "train.max_epochs: Input should be a valid integer"),
        (["preset=fancy"], "preset: Input should be 'default', 'notebook' or 'linear'"),
        (["nonsense"], "expected section.key=value"),
        (["train.cv_folds=1"], "cv_folds must be 0 (one validation split) or at least 2"),
    ],
)
def test_bad_configuration_is_one_line(overrides, message):
    with pytest.raises(ConfigError) as caught:
        build_config(overrides=overrides)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


NON_FINITE = [".nan", ".inf", "-.inf", "nan", "inf"]


@pytest.mark.parametrize("value", NON_FINITE)
@pytest.mark.parametrize(
    "setting", ["gate.r2_min", "gate.rmse_max", "gate.champion_tolerance", "train.lr", "data.noise"]
)
def test_nan_and_infinity_are_refused_in_every_float_setting_naming_it(setting, value):
    with pytest.raises(ConfigError) as caught:
        build_config(overrides=[f"{setting}={value}"])
    assert str(caught.value) == f"invalid configuration: {setting}: Input should be a finite number"


def test_every_float_field_of_every_section_refuses_nan():
    from regress_core.config import ScoringConfig

    checked = 0
    for model in (
        *(type(section) for section in RegressConfig().__dict__.values() if hasattr(section, "model_fields")),
        ScoringConfig,
    ):
        floats = [
            name
            for name, field in model.model_fields.items()
            if float in (field.annotation, *get_args(field.annotation))
        ]
        checked += len(floats)
        for name in floats:
            with pytest.raises(ValueError, match="finite number"):
                model.__pydantic_validator__.validate_assignment(model.model_construct(), name, float("nan"))
    assert checked >= 12  # every float setting of every section, and the scoring parameters


def test_nan_is_refused_from_a_yaml_file_and_the_ui_form(tmp_path):
    from flows.training import training

    path = tmp_path / "c.yaml"
    path.write_text("gate:\n  r2_min: .nan\n")
    with pytest.raises(ConfigError, match=r"gate.r2_min: Input should be a finite number"):
        build_config(path=path)
    form = RegressConfig().model_dump(mode="json")
    form["gate"]["rmse_max"] = float("inf")
    with pytest.raises(Exception, match="finite number"):
        training.validate_parameters({"config": form})


def test_missing_config_file_is_reported(tmp_path):
    with pytest.raises(ConfigError, match="configuration file not found"):
        build_config(path=tmp_path / "nope.yaml")


# An explicit value wins over the preset even when it equals another preset's value:
# 0.002 is the default preset's learning rate, the notebook's is 0.001.
def test_explicit_value_wins_from_set_even_when_it_equals_a_default():
    config = build_config(values={"preset": "notebook"}, overrides=["train.lr=0.002"])
    assert config.train.lr == 0.002
    assert config.train.max_epochs == 100
    assert config.train.optimizer == "adam"


def test_explicit_value_wins_from_a_configuration_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("preset: notebook\ntrain:\n  lr: 0.002\nfeatures:\n  scaler: quantile\n")
    config = build_config(path=path)
    assert config.train.lr == 0.002
    assert config.features.scaler == "quantile"
    assert config.model.hidden_sizes == [64, 32]
    assert config.features.scale_target is False


def test_explicit_value_wins_from_the_prefect_ui_form():
    from flows.training import training

    schema = training.parameters.model_dump()["definitions"]
    assert schema["TrainConfig"]["properties"]["lr"]["default"] is None  # the form starts empty, not at 0.002
    # The form sends every field: untouched ones empty, the one the user typed filled in.
    form = RegressConfig().model_dump(mode="json")
    form["preset"] = "notebook"
    form["train"]["lr"] = 0.002
    validated = training.validate_parameters({"config": form})["config"]
    config = validated.resolved()
    assert config.train.lr == 0.002
    assert config.train.batch_size == 0
    assert config.model.kind == "mlp"


def test_resolution_is_idempotent_and_leaves_table_sized_fields_open():
    config = build_config()
    assert config.resolved() == config
    assert config.model.kind == "auto"
    assert config.train.lr == 2e-3
    assert config.train.batch_size is None
    assert config.model.n_bins is None


def test_resolution_fills_preset_fields_and_leaves_sized_ones_open():
    config = build_config()
    assert config.model.kind == "auto"
    assert config.train.cv_folds == 5
    assert config.train.min_steps == 1000
    assert config.train.batch_size is None
    assert config.model.ensemble_size is None
    assert config.model.n_bins is None
    assert config.resolved() == config
    unresolved = RegressConfig(model={"kind": "mlp"})
    assert unresolved.train.lr is None
    assert unresolved.resolved().train.lr == 2e-3
    assert unresolved.resolved().model.kind == "mlp"
