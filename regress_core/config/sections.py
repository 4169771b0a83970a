"""The sections of a training run's configuration and `RegressConfig`, which holds them.

`RegressConfig` is the training flow's parameter type: Prefect validates it and draws a
form from it. Defaults live here; a preset fills the fields a user did not set.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from regress_core.config.presets import PRESETS, PresetName, deep_merge
from regress_core.data.names import repeated_names
from regress_core.errors import ConfigError


class Section(BaseModel):
    """A part of a configuration: unknown keys are refused, assignments validated, NaN and infinity refused."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


class DataConfig(Section):
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
    time_column: str | None = Field(
        None,
        description="Column of each row's time; with a window, only rows with start <= time < as_of are read. "
        "Not a model feature unless listed in features.",
    )
    window: str | None = Field(None, description="Length of the window that ends at as_of: 30d, 12h, 8w.")
    start: str | None = Field(None, description="Explicit first date or ISO time of the window (instead of window).")
    end: str | None = Field(None, description="Explicit end of the window (exclusive); never later than as_of.")
    timezone: str = Field("UTC", description="IANA timezone of naive times, bare dates and partition days.")
    table: str | None = Field(None, description="Database source: the table to read; the window is filtered there.")
    query: str | None = Field(None, description="Database source: a query to run instead; it may take :start and :end.")
    secret_block: str | None = Field(
        None, description="Prefect Secret block with the database password (else REGRESS_DB_PASSWORD or PGPASSWORD)."
    )

    @field_validator("source")
    @classmethod
    def _check_source(cls, source: str) -> str:
        from regress_core.data.sql.urls import is_sql_url  # cheap: sqlalchemy only once a URL is read

        return source if is_sql_url(source) else require_filesystem(source)

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
        from regress_core.data.sql.urls import check_sql_settings

        try:
            check_window_settings(self)
            check_sql_settings(self.source, table=self.table, query=self.query, secret_block=self.secret_block)
        except ConfigError as exc:
            raise ValueError(str(exc)) from exc
        return self


class SplitConfig(Section):
    """Train / validation / test split, deterministic from a seed."""

    test_size: float = Field(0.2, gt=0, lt=1, description="Fraction of rows held out for test.")
    val_size: float = Field(0.1, gt=0, lt=1, description="Fraction of the remaining train rows used for validation.")
    seed: int = Field(42, description="Seed of both splits (42 matches the classic notebook).")
    strategy: Literal["random", "time"] | None = Field(
        None,
        description=(
            "random draws validation and test rows with the seed; time keeps the latest rows (by "
            "data.time_column) for validation and test. Empty: time when data.time_column is set, else random."
        ),
    )


UNSET = "Empty: the preset's value."
SIZED = "Empty: the preset's value, or sized to the table where the preset leaves it open."


class FeaturesConfig(Section):
    """Feature and target preprocessing, fitted on train only. Empty fields take the preset's value."""

    scaler: Literal["standard", "quantile", "robust", "robust_clip", "none"] | None = Field(
        None,
        description=(
            "Scaler of numeric features for the networks (robust_clip: median and interquartile range, "
            f"then tails bent smoothly towards +-3). {UNSET}"
        ),
    )
    scale_target: bool | None = Field(None, description=f"Standardise the target while training. {UNSET}")


ModelKind = Literal["linear", "mlp", "embedding_mlp"]


class ModelConfig(Section):
    """PyTorch model architecture. Empty fields take the preset's value or are sized to the table."""

    kind: Literal["auto", "linear", "mlp", "embedding_mlp"] | None = Field(
        None,
        description=(
            "Model family; auto trains the candidates and keeps the best on validation rows "
            "(cross-validation on small tables). linear is ridge in closed form on standardised "
            f"features, whatever the scaler. {UNSET}"
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
    interval: float = Field(
        0.9, ge=0.5, le=0.99, description="Level of the prediction intervals (split conformal on validation rows)."
    )

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


class TrainConfig(Section):
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


class GateConfig(Section):
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
    coverage_tolerance: float | None = Field(
        0.03, ge=0, lt=1, description="Most test coverage may miss model.interval by (or 3 SE on few rows); null: off."
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


class RegistryConfig(Section):
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


class RegressConfig(Section):
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
        preset = PRESETS[self.preset]
        explicit = self.model_dump(mode="json")
        for section in ("features", "model", "train"):
            explicit[section] = {key: value for key, value in explicit[section].items() if value is not None}
        if explicit["split"]["strategy"] is None:
            explicit["split"]["strategy"] = "time" if self.data.time_column else "random"
        return RegressConfig.model_validate(deep_merge(preset, explicit))

    @model_validator(mode="after")
    def _check_split(self) -> RegressConfig:
        if self.split.strategy == "time" and self.data.time_column is None:
            raise ValueError("split.strategy time needs data.time_column, the column of each row's time")
        return self


class MonitorConfig(Section):
    """A monitoring job (`monitor`): dated predictions joined to the actuals that have arrived, error by day."""

    predictions: str = Field(
        ..., description="Predictions path or fsspec URL with {date}: one Parquet/CSV file (or glob) a day."
    )
    actuals: str = Field(
        ...,
        description="True values: a path or URL with {date} (read for the window's days), or one file of them all.",
    )
    key: str = Field(
        ...,
        min_length=1,
        description="Column naming a row in the predictions and the actuals; several together: ts,Latitude,Longitude.",
    )
    target: str | None = Field(None, description="The actuals' column of true values; default: the model's target.")
    window: str = Field("7d", description="Days measured: this many whole days ending with as_of's day (7d, 2w).")
    model: str = Field(
        "champion",
        description="Model whose test RMSE is the reference when the predictions carry no model_version column.",
    )
    tolerance: float = Field(
        0.2,
        ge=0,
        description="Degraded when the window's RMSE exceeds the version's test RMSE by more than this fraction.",
    )
    timezone: str = Field("UTC", description="IANA timezone of as_of and the partition days.")
    home: str | None = Field(None, description="Workspace folder; defaults to $REGRESS_HOME, then ./regress-home.")

    @field_validator("window")
    @classmethod
    def _check_window(cls, window: str) -> str:
        from regress_core.data.window import parse_duration

        try:
            length = parse_duration(window)
        except ConfigError as exc:
            raise ValueError(str(exc)) from exc
        if length.total_seconds() % 86400:
            raise ValueError(f"window {window!r} is not whole days: give a length such as 7d or 2w")
        return window

    @field_validator("predictions")
    @classmethod
    def _check_predictions(cls, location: str) -> str:
        if "{date}" not in location:
            raise ValueError(f"{location!r} names no day: put {{date}} where each day's file differs")
        return require_filesystem(location)

    @field_validator("actuals")
    @classmethod
    def _check_actuals(cls, location: str) -> str:
        return require_filesystem(location)


def check_window_settings(data: DataConfig) -> None:
    """Refuse window settings that cannot bound a window, or a dated source without one."""
    from regress_core.data.sources.partitions import is_dated  # fsspec: only when a configuration is checked
    from regress_core.data.window import parse_duration, parse_instant, zone

    zone(data.timezone)
    if data.window is not None:
        parse_duration(data.window)
    for bound in (data.start, data.end):
        if bound is not None:
            parse_instant(bound, timezone=data.timezone)
    bounded = data.window is not None or data.start is not None
    if data.window is not None and data.start is not None:
        raise ValueError("give either a window length (data.window) or a start (data.start), not both")
    if (bounded or data.end is not None) and data.time_column is None:
        raise ValueError("a window needs data.time_column, the column of each row's time")
    if data.time_column is not None and not bounded:
        raise ValueError("data.time_column needs a window: data.window (such as 30d) or data.start")
    if is_dated(data.source) and data.time_column is None:
        raise ValueError(
            f"source {data.source} is dated ({{date}} or {{as_of}}): give data.time_column and data.window"
        )


def require_filesystem(location: str) -> str:
    """Refuse a URL whose filesystem package (s3fs, gcsfs, ...) is not installed, saying what to install."""
    from regress_core.data.tables import missing_filesystem  # pandas, pyarrow, fsspec: only when a location is checked

    problem = missing_filesystem(location)
    if problem:
        raise ValueError(problem)
    return location
