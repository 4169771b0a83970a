"""The parameters of a batch scoring job."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from regress_core.config.sections import Section, require_filesystem

PREDICTION_COLUMN = "prediction"  # the predictions file's column of predicted values
INTERVAL_COLUMNS = ("lower", "upper")  # the bounds of each prediction's interval, with `--interval`
MODEL_LEVEL = "model"  # `interval`: the scoring version's own level (its `model.interval`)
INTERVAL_LEVEL_KEY = "regress.interval"  # a predictions file's metadata: the level of its intervals


class ScoringConfig(Section):
    """Parameters of a batch scoring job."""

    input: str = Field(
        ...,
        description="CSV/Parquet file, folder or glob; local path or fsspec URL; {as_of} names the day's batch.",
    )
    output: str = Field(
        ...,
        description=".parquet path or object-storage URL (s3://...) for the predictions; {as_of} names the day.",
    )
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
    stamp: bool = Field(False, description="Add model, model_version and as_of columns to the predictions.")
    interval: float | Literal["model"] | None = Field(
        None,
        description=(
            "Add lower and upper columns: prediction intervals at this level (such as 0.8), or at the version's "
            "own level (model); none: no intervals."
        ),
    )
    if_missing: Literal["fail", "skip"] = Field(
        "fail", description="When the day's input has not arrived: fail (an error) or skip (nothing to do)."
    )
    skip_scored: bool = Field(
        False,
        description="Do nothing for a day already scored into the same output with the same model version and input.",
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

    @model_validator(mode="after")
    def _check_stamp(self) -> ScoringConfig:
        clash = [name for name in self.keep if name in ("model", "model_version", "as_of")] if self.stamp else []
        if clash:
            raise ValueError(
                f"kept column {clash[0]} has the name of a stamp column (model, model_version, as_of); "
                "rename it in the input or leave out --stamp"
            )
        clash = [name for name in self.keep if name in INTERVAL_COLUMNS] if self.interval is not None else []
        if clash:
            raise ValueError(interval_clash(clash[0]))
        return self

    @field_validator("interval")
    @classmethod
    def _check_interval(cls, interval: float | str | None) -> float | str | None:
        if isinstance(interval, float) and not 0 < interval < 1:
            raise ValueError(f"an interval's level is between 0 and 1 (such as 0.9), got {interval:g}")
        return interval

    @field_validator("input")
    @classmethod
    def _check_input(cls, location: str) -> str:
        return require_filesystem(location)


def interval_clash(name: str) -> str:
    """Why a kept column named like an interval bound is refused."""
    return (
        f"an input column named {name!r} cannot be kept with --interval: the output's own {name} column "
        "has that name; rename it in the input"
    )
