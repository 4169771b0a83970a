"""The one typed configuration object of a training run, with named presets.

`RegressConfig` is the training flow's parameter type: Prefect validates it and draws a
form from it. Defaults live here; a preset fills the fields a user did not set.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from regress_core.data.names import repeated_names
from regress_core.errors import ConfigError

PresetName = Literal["default", "notebook", "linear"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DataConfig(_Section):
    """Where the training table comes from and what it must look like."""

    source: str = Field(
        "california_housing",
        description=(
            "Bundled dataset name (california_housing), synthetic set (linear, parabola), "
            "sklearn:california_housing (downloads), or a CSV/Parquet path or fsspec URL."
        ),
    )
    target: str | None = Field(None, description="Target column; defaults to the contract's.")
    contract: str | None = Field(
        None,
        description="Path to a data contract (YAML). Bundled and synthetic sets ship their own; "
        "for other files one is inferred and saved beside the run.",
    )
    features: list[str] | None = Field(
        None, description="Feature columns to use; default: every contract column but the target."
    )
    n_rows: int = Field(100, ge=10, le=10_000_000, description="Rows of a synthetic set.")
    noise: float = Field(1.0, ge=0, description="Noise standard deviation of a synthetic set.")
    seed: int = Field(0, description="Seed of a synthetic set.")

    @model_validator(mode="after")
    def _check_features(self) -> DataConfig:
        if self.features is not None:
            if not self.features:
                raise ValueError("features must name at least one column (or be left out)")
            if self.target is not None and self.target in self.features:
                raise ValueError(f"target {self.target!r} is also listed in features")
            repeated = repeated_names(self.features)
            if repeated:
                raise ValueError(f"features lists {', '.join(repeated)} more than once")
        return self


class SplitConfig(_Section):
    """Train / validation / test split, deterministic from a seed."""

    test_size: float = Field(0.2, gt=0, lt=1, description="Fraction of rows held out for test.")
    val_size: float = Field(0.1, gt=0, lt=1, description="Fraction of the remaining train rows used for validation.")
    seed: int = Field(42, description="Seed of both splits (42 matches the classic notebook).")


class FeaturesConfig(_Section):
    """Feature and target preprocessing, fitted on train only."""

    scaler: Literal["standard", "quantile", "robust", "none"] = Field(
        "quantile", description="Scaler applied to numeric features."
    )
    scale_target: bool = Field(True, description="Standardise the target while training.")


class ModelConfig(_Section):
    """PyTorch model architecture."""

    kind: Literal["linear", "mlp", "embedding_mlp"] = Field("embedding_mlp", description="Model family.")
    hidden_sizes: list[int] = Field(
        default_factory=lambda: [256, 256], description="Widths of the hidden layers (MLP)."
    )
    activation: Literal["relu", "gelu", "silu", "tanh"] = Field("relu")
    dropout: float = Field(0.2, ge=0, lt=1, description="Dropout after each hidden layer.")
    n_bins: int = Field(96, ge=2, le=512, description="Piecewise-linear bins per feature (embedding_mlp).")
    embedding_dim: int = Field(32, ge=1, le=256, description="Per-feature embedding width.")
    ensemble_size: int = Field(8, ge=1, le=64, description="Members trained in one network.")

    @model_validator(mode="after")
    def _check_hidden(self) -> ModelConfig:
        if any(size < 1 for size in self.hidden_sizes):
            raise ValueError(f"hidden_sizes must all be positive, got {self.hidden_sizes}")
        if self.kind != "linear" and not self.hidden_sizes:
            raise ValueError(f"model kind {self.kind!r} needs at least one hidden layer")
        return self


class TrainConfig(_Section):
    """Optimisation of the PyTorch model."""

    loss: Literal["mse", "mae", "huber"] = Field("mse")
    huber_delta: float = Field(1.0, gt=0)
    optimizer: Literal["sgd", "adam", "adamw"] = Field("adamw")
    lr: float = Field(2e-3, gt=0, le=10, description="Peak learning rate.")
    weight_decay: float = Field(3e-3, ge=0, description="L2 penalty (decoupled for AdamW).")
    momentum: float = Field(0.0, ge=0, lt=1, description="SGD momentum.")
    lr_schedule: Literal["constant", "cosine"] = Field("cosine", description="cosine decays to 0 over max_epochs.")
    batch_size: int = Field(256, ge=0, description="Mini-batch size; 0 trains on full batches.")
    max_epochs: int = Field(100, ge=1, le=100_000)
    patience: int = Field(20, ge=0, description="Epochs without improvement before stopping; 0 never stops early.")
    ema_decay: float = Field(0.99, ge=0, lt=1, description="Weight averaging; 0 turns it off.")
    seed: int = Field(0, description="Seed of initialisation and batch order.")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto picks CUDA when present.")
    precision: Literal["auto", "float32", "bfloat16"] = Field(
        "auto",
        description=(
            "Arithmetic of the training forward pass: auto uses bfloat16 mixed precision where the "
            "device computes it natively (CUDA with bfloat16, CPUs with AVX512-BF16 or AMX) and float32 "
            "elsewhere. Weights, losses and predictions stay float32."
        ),
    )


class GateConfig(_Section):
    """Promotion thresholds, kept as data."""

    r2_min: float | None = Field(0.5, description="Lowest test R2 a promoted model may have.")
    rmse_max: float | None = Field(None, gt=0, description="Highest test RMSE allowed.")
    mae_max: float | None = Field(None, gt=0, description="Highest test MAE allowed.")
    champion_tolerance: float = Field(
        0.01,
        ge=0,
        description="The candidate's test RMSE may exceed the champion's on the same rows by at most this fraction.",
    )
    linear_tolerance: float | None = Field(
        0.0,
        ge=0,
        description=(
            "The candidate's test RMSE may exceed that of LinearRegression fitted on the same training rows by at "
            "most this fraction; null turns the check off."
        ),
    )


class RegistryConfig(_Section):
    """Where runs keep their outputs."""

    home: str | None = Field(None, description="Workspace folder; defaults to $REGRESS_HOME, then ./regress-home.")


PRESETS: dict[str, dict[str, Any]] = {
    "default": {},
    "notebook": {
        "features": {"scaler": "standard", "scale_target": False},
        "model": {"kind": "mlp", "hidden_sizes": [64, 32], "activation": "relu", "dropout": 0.0, "ensemble_size": 1},
        "train": {
            "loss": "mse",
            "optimizer": "adam",
            "lr": 1e-3,
            "weight_decay": 0.0,
            "batch_size": 0,
            "max_epochs": 100,
            "patience": 0,
            "lr_schedule": "constant",
            "ema_decay": 0.0,
            "precision": "float32",
        },
    },
    "linear": {
        "features": {"scaler": "standard", "scale_target": True},
        "model": {"kind": "linear", "hidden_sizes": [], "dropout": 0.0, "ensemble_size": 1},
        # Adam, not plain SGD: standardised California Housing has rows 100 standard
        # deviations out (AveOccup), and SGD's step on such a row diverges or lands far
        # from the least-squares fit; Adam converges to it (test R2 0.576, as LinearRegression).
        "train": {
            "loss": "mse",
            "optimizer": "adam",
            "lr": 1e-3,
            "momentum": 0.0,
            "weight_decay": 0.0,
            "batch_size": 64,
            "max_epochs": 200,
            "patience": 20,
            "lr_schedule": "constant",
            "ema_decay": 0.0,
            "precision": "float32",
        },
    },
}


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Return `base` updated by `override`, merging nested dictionaries."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


class RegressConfig(_Section):
    """Everything a training run needs, in sections."""

    preset: PresetName = Field("default", description="Named starting point; explicit fields override it.")
    data: DataConfig = Field(default_factory=DataConfig)
    split: SplitConfig = Field(default_factory=SplitConfig)
    features: FeaturesConfig = Field(default_factory=FeaturesConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    gate: GateConfig = Field(default_factory=GateConfig)
    registry: RegistryConfig = Field(default_factory=RegistryConfig)

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, values: Any) -> Any:
        if not isinstance(values, dict):
            return values
        name = values.get("preset", "default")
        if name not in PRESETS:
            return values  # the Literal check names the valid presets
        explicit = {
            key: value.model_dump(exclude_unset=True) if isinstance(value, BaseModel) else value
            for key, value in values.items()
        }
        return deep_merge(PRESETS[name], _drop_defaults(explicit))


def _section_defaults() -> dict[str, dict[str, Any]]:
    sections: dict[str, type[_Section]] = {
        "data": DataConfig,
        "split": SplitConfig,
        "features": FeaturesConfig,
        "model": ModelConfig,
        "train": TrainConfig,
        "gate": GateConfig,
    }
    return {name: section.model_construct().model_dump(mode="json") for name, section in sections.items()}


def _drop_defaults(explicit: dict[str, Any]) -> dict[str, Any]:
    """Leave out fields set to their default, so that a chosen preset fills them.

    A form (the Prefect UI's) sends every field, defaults included; a value equal to the
    default says nothing about intent, so the preset's value wins there.
    """
    defaults = _section_defaults()
    kept: dict[str, Any] = {}
    for key, value in explicit.items():
        if key in defaults and isinstance(value, dict):
            kept[key] = {
                field: v for field, v in value.items() if field not in defaults[key] or defaults[key][field] != v
            }
        else:
            kept[key] = value
    return kept


class ScoringConfig(_Section):
    """Parameters of a batch scoring job."""

    input: str = Field(..., description="CSV/Parquet file, folder or glob; local path or fsspec URL.")
    output: str = Field(..., description="Local .parquet path for the predictions.")
    model: str = Field("champion", description="champion, or a version such as v0003.")
    keep: list[str] = Field(default_factory=list, description="Input columns copied next to the prediction.")
    on_invalid: Literal["fail", "drop"] = Field(
        "fail",
        description="fail: write nothing on a contract violation; drop: score valid rows, write rejected ones aside.",
    )
    batch_rows: int = Field(262_144, ge=1, le=50_000_000, description="Rows per record batch; bounds memory.")
    drift_threshold: float = Field(0.2, ge=0, description="Warn when a feature's PSI exceeds this.")
    task_runner: Literal["local", "dask"] = Field(
        "local", description="dask scores one partition per file on a Dask cluster."
    )
    dask_address: str | None = Field(None, description="Scheduler address; none starts a local cluster.")
    dask_workers: int = Field(2, ge=1, le=256, description="Workers of a local Dask cluster.")
    home: str | None = Field(None, description="Workspace folder; defaults to $REGRESS_HOME, then ./regress-home.")


def format_validation_error(error: ValidationError) -> str:
    """Turn a pydantic error into one line a person can act on."""
    parts = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "config"
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key"
        parts.append(f"{where}: {message}")
    return "invalid configuration: " + "; ".join(parts)


def parse_overrides(assignments: list[str]) -> dict[str, Any]:
    """Turn `section.key=value` strings into a nested dictionary (values parsed as YAML)."""
    nested: dict[str, Any] = {}
    for assignment in assignments:
        key, sep, raw = assignment.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"invalid --set {assignment!r}: expected section.key=value")
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError:
            value = raw
        node = nested
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"invalid --set {assignment!r}: {part} is not a section")
        node[parts[-1]] = value
    return nested


def read_yaml(path: str | Path, *, what: str) -> Any:
    """Read a YAML (or JSON) file, with one line naming `what` it is when it cannot be read.

    Raises:
        ConfigError: the file is missing, unreadable or not valid YAML.
    """
    path = Path(path)
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{what} not found: {path}") from exc
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read {what} {path}: {str(exc).splitlines()[0]}") from exc


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Read a YAML or JSON configuration file into a dictionary."""
    loaded = read_yaml(path, what="configuration file")
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"configuration file {path} must hold a mapping of sections")
    return loaded


def build_scoring_config(values: dict[str, Any]) -> ScoringConfig:
    """Validate scoring parameters, with one line naming every invalid field."""
    try:
        return ScoringConfig.model_validate(values)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc)) from exc


def build_config(
    *, path: str | Path | None = None, values: dict[str, Any] | None = None, overrides: Sequence[str] = ()
) -> RegressConfig:
    """Build a validated configuration from a file, explicit values and `--set` overrides.

    Args:
        path: Optional YAML/JSON file.
        values: Values that win over the file (for example command-line flags).
        overrides: `section.key=value` strings that win over everything.

    Raises:
        ConfigError: with one line naming every invalid field.
    """
    merged = read_config_file(path) if path else {}
    merged = deep_merge(merged, values or {})
    merged = deep_merge(merged, parse_overrides(list(overrides)))
    try:
        return RegressConfig.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc)) from exc
