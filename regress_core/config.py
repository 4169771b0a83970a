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
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from regress_core.data.names import repeated_names
from regress_core.errors import ConfigError

PresetName = Literal["default", "notebook", "linear"]
PREDICTION_COLUMN = "prediction"  # the predictions file's column of predicted values


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

    @field_validator("source")
    @classmethod
    def _check_source(cls, source: str) -> str:
        return require_filesystem(source)

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


UNSET = "Empty: the preset's value."
SIZED = "Empty: the preset's value, or sized to the table where the preset leaves it open."


class FeaturesConfig(_Section):
    """Feature and target preprocessing, fitted on train only. Empty fields take the preset's value."""

    scaler: Literal["standard", "quantile", "robust", "none"] | None = Field(
        None, description=f"Scaler of numeric features for the networks. {UNSET}"
    )
    scale_target: bool | None = Field(None, description=f"Standardise the target while training. {UNSET}")


ModelKind = Literal["linear", "mlp", "embedding_mlp"]


class ModelConfig(_Section):
    """PyTorch model architecture. Empty fields take the preset's value or are sized to the table."""

    kind: Literal["auto", "linear", "mlp", "embedding_mlp"] | None = Field(
        None,
        description=(
            "Model family; auto trains the candidates and keeps the best on validation rows "
            f"(cross-validation on small tables). {UNSET}"
        ),
    )
    candidates: list[ModelKind] | None = Field(
        None,
        description=(
            "With kind auto, the families to compare. Empty: linear and embedding_mlp, plus mlp on "
            "tables scored on a validation split with fewer than 10,000 training rows."
        ),
    )
    hidden_sizes: list[int] | None = Field(
        None, description=f"Widths of the hidden layers (mlp, embedding_mlp). {SIZED}"
    )
    activation: Literal["relu", "gelu", "silu", "tanh"] | None = Field(None, description=UNSET)
    dropout: float | None = Field(None, ge=0, lt=1, description=f"Dropout after each hidden layer. {UNSET}")
    n_bins: int | None = Field(
        None, ge=2, le=512, description=f"Piecewise-linear bins per embedded feature (embedding_mlp). {SIZED}"
    )
    embedding_dim: int | None = Field(None, ge=1, le=256, description=f"Per-feature embedding width. {SIZED}")
    ensemble_size: int | None = Field(None, ge=1, le=64, description=f"Members trained in one network. {SIZED}")

    @model_validator(mode="after")
    def _check_hidden(self) -> ModelConfig:
        if self.hidden_sizes is not None:
            if any(size < 1 for size in self.hidden_sizes):
                raise ValueError(f"hidden_sizes must all be positive, got {self.hidden_sizes}")
            if self.kind in ("mlp", "embedding_mlp") and not self.hidden_sizes:
                raise ValueError(f"model kind {self.kind!r} needs at least one hidden layer")
        if self.candidates is not None and not self.candidates:
            raise ValueError("candidates must name at least one model kind (or be left out)")
        return self


class TrainConfig(_Section):
    """Optimisation of the PyTorch model. Empty fields take the preset's value or are sized to the table."""

    loss: Literal["mse", "mae", "huber"] | None = Field(None, description=UNSET)
    huber_delta: float = Field(1.0, gt=0)
    optimizer: Literal["sgd", "adam", "adamw"] | None = Field(None, description=UNSET)
    lr: float | None = Field(None, gt=0, le=10, description=f"Peak learning rate. {UNSET}")
    weight_decay: float | None = Field(None, ge=0, description=f"L2 penalty (decoupled for AdamW). {UNSET}")
    momentum: float | None = Field(None, ge=0, lt=1, description=f"SGD momentum. {UNSET}")
    lr_schedule: Literal["constant", "cosine"] | None = Field(
        None, description=f"cosine decays to 0 over the training budget. {UNSET}"
    )
    batch_size: int | None = Field(None, ge=0, description=f"Mini-batch size; 0 trains on full batches. {SIZED}")
    max_epochs: int | None = Field(None, ge=1, le=100_000, description=f"Most epochs. {SIZED}")
    min_steps: int | None = Field(
        None,
        ge=0,
        le=1_000_000,
        description=(
            f"Fewest optimizer steps when max_epochs is sized to the table (small tables get more epochs). {UNSET}"
        ),
    )
    patience: int | None = Field(
        None, ge=0, description=f"Epochs without improvement before stopping; 0 never stops early. {SIZED}"
    )
    ema_decay: float | None = Field(None, ge=0, lt=1, description=f"Weight averaging; 0 turns it off. {UNSET}")
    cv_folds: int | None = Field(
        None,
        ge=0,
        le=20,
        description=(
            "Folds of cross-validation on tables with fewer than cv_below_rows train plus validation rows; "
            f"0 uses the validation split. {UNSET}"
        ),
    )
    cv_below_rows: int | None = Field(
        None, ge=0, description=f"Train plus validation rows below which cross-validation replaces the split. {UNSET}"
    )
    seed: int = Field(0, description="Seed of initialisation, folds and batch order.")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto picks CUDA when present.")
    precision: Literal["auto", "float32", "bfloat16"] | None = Field(
        None,
        description=(
            "Arithmetic of the training forward pass: auto uses bfloat16 mixed precision where the "
            "device computes it natively (CUDA with bfloat16, CPUs with AVX512-BF16 or AMX) and float32 "
            f"elsewhere. Weights, losses and predictions stay float32. {UNSET}"
        ),
    )

    @model_validator(mode="after")
    def _check_folds(self) -> TrainConfig:
        if self.cv_folds == 1:
            raise ValueError("cv_folds must be 0 (one validation split) or at least 2")
        return self


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
        0.02,
        ge=0,
        description=(
            "The candidate's test RMSE may exceed that of LinearRegression fitted on the same training and "
            "validation rows by at most this fraction (room for the noise of a small test set); null turns the "
            "check off."
        ),
    )
    min_comparison_rows: int = Field(
        30,
        ge=1,
        description=(
            "Fewest test rows, unseen in training and validation by both candidate and champion, to compare them "
            "on; below it they are compared on all test rows, and the decision says so."
        ),
    )
    require_significant: bool = Field(
        False,
        description=(
            "Promote over a champion only when the whole 95% paired bootstrap interval of the RMSE difference "
            "(candidate minus champion) lies within the tolerance; off: the interval is reported, not gated on."
        ),
    )


# Characters of a model name; `registry.catalog` also refuses names that read as a version or "champion".
MODEL_NAME_CHARACTERS = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"


class RegistryConfig(_Section):
    """Where runs keep their outputs."""

    home: str | None = Field(None, description="Workspace folder; defaults to $REGRESS_HOME, then ./regress-home.")
    model: str | None = Field(
        None,
        pattern=MODEL_NAME_CHARACTERS,
        description=(
            "Model name the run publishes under, with its own versions and champion; defaults to the data "
            "contract's name (california_housing for the bundled data, sales for sales.csv)."
        ),
    )


# The default preset leaves batch size, epochs, patience, bins, widths and ensemble size open:
# they are sized to the table (regress_core.model.budget). The others are complete recipes.
DEFAULT_PRESET: dict[str, dict[str, Any]] = {
    "features": {"scaler": "quantile", "scale_target": True},
    "model": {"kind": "auto", "activation": "relu", "dropout": 0.2},
    "train": {
        "loss": "mse",
        "optimizer": "adamw",
        "lr": 2e-3,
        "weight_decay": 3e-3,
        "momentum": 0.0,
        "lr_schedule": "cosine",
        "min_steps": 1000,
        "ema_decay": 0.99,
        "cv_folds": 5,
        "cv_below_rows": 3000,
        "precision": "auto",
    },
}

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
            "cv_folds": 0,
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
            "cv_folds": 0,
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

    def resolved(self) -> RegressConfig:
        """This configuration with every field it leaves empty filled from its preset.

        Fields set here always win, whatever their value. Fields the preset also leaves empty
        stay None: the training stage sizes them to the table. Idempotent.
        """
        preset = deep_merge(DEFAULT_PRESET, PRESETS[self.preset])
        explicit = self.model_dump(mode="json")
        for section in ("features", "model", "train"):
            explicit[section] = {key: value for key, value in explicit[section].items() if value is not None}
        return RegressConfig.model_validate(deep_merge(preset, explicit))


class ScoringConfig(_Section):
    """Parameters of a batch scoring job."""

    input: str = Field(..., description="CSV/Parquet file, folder or glob; local path or fsspec URL.")
    output: str = Field(..., description=".parquet path or object-storage URL (s3://...) for the predictions.")
    model: str = Field(
        "champion",
        description=(
            "A model name (its champion) or name@v0003; champion or v0003 alone while the registry holds one model."
        ),
    )
    keep: list[str] = Field(default_factory=list, description="Input columns copied next to the prediction.")
    on_invalid: Literal["fail", "drop"] = Field(
        "fail",
        description="fail: write nothing on a contract violation; drop: score valid rows, write rejected ones aside.",
    )
    batch_rows: int = Field(262_144, ge=1, le=50_000_000, description="Rows per record batch; bounds memory.")
    drift_threshold: float = Field(0.2, ge=0, description="Warn when a feature's PSI exceeds this.")
    task_runner: Literal["local", "dask"] = Field(
        "local",
        description="dask scores partitions (files, ranges of row groups of large Parquet files) on a Dask cluster.",
    )
    partition_rows: int = Field(
        1_000_000,
        ge=1,
        le=1_000_000_000,
        description=(
            "A Parquet file is scored in ranges of whole row groups of at least this many rows (and batch_rows): "
            "dask's partitions; the local run batches the same ranges, so both give the same predictions."
        ),
    )
    dask_address: str | None = Field(None, description="Scheduler address; none starts a local cluster.")
    dask_workers: int = Field(2, ge=1, le=256, description="Workers of a local Dask cluster.")
    precision: Literal["auto", "float32", "bfloat16"] = Field(
        "auto",
        description=(
            "Precision of the network's matrix products: auto takes bfloat16 where the hardware computes it "
            "natively (CPUs with AVX512-BF16 or AMX, recent GPUs), float32 elsewhere and for a linear model."
        ),
    )
    home: str | None = Field(None, description="Workspace folder; defaults to $REGRESS_HOME, then ./regress-home.")

    @field_validator("keep")
    @classmethod
    def _check_keep(cls, keep: list[str]) -> list[str]:
        if PREDICTION_COLUMN in keep:
            raise ValueError(
                f"an input column named {PREDICTION_COLUMN!r} cannot be kept: the output's own "
                f"{PREDICTION_COLUMN} column has that name; rename it in the input"
            )
        return keep

    @field_validator("input")
    @classmethod
    def _check_input(cls, location: str) -> str:
        return require_filesystem(location)


def require_filesystem(location: str) -> str:
    """Refuse a URL whose filesystem package (s3fs, gcsfs, ...) is not installed, saying what to install."""
    from regress_core.data.tables import missing_filesystem

    problem = missing_filesystem(location)
    if problem:
        raise ValueError(problem)
    return location


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
        return RegressConfig.model_validate(merged).resolved()
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc)) from exc
