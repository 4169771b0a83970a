"""Checks of a scoring job's options and output location, made before any input is read."""

from __future__ import annotations

import os
from collections.abc import Collection
from pathlib import Path

from fsspec.core import url_to_fs

from regress_core.config import INTERVAL_COLUMNS, PREDICTION_COLUMN, interval_clash
from regress_core.data.tables import PARQUET_SUFFIXES, is_url
from regress_core.errors import ConfigError
from regress_core.scoring.writers import rejected_path_for


def check_options(on_invalid: str, batch_rows: int, keep: Collection[str] = (), *, interval: bool = False) -> None:
    """Refuse a kept column named like an output column, an unknown `on_invalid` and a batch size below 1.

    The output's own columns are `prediction` and, with `interval`, `lower` and `upper`.
    """
    if PREDICTION_COLUMN in keep:
        raise ConfigError(
            f"an input column named {PREDICTION_COLUMN!r} cannot be kept: the output's own "
            f"{PREDICTION_COLUMN} column has that name; rename it in the input"
        )
    clash = [name for name in keep if name in INTERVAL_COLUMNS] if interval else []
    if clash:
        raise ConfigError(interval_clash(clash[0]))
    if on_invalid not in ("fail", "drop"):
        raise ConfigError(f"on_invalid must be fail or drop, got {on_invalid!r}")
    if batch_rows < 1:
        raise ConfigError(f"batch_rows must be positive, got {batch_rows}")


def check_output_path(output: str) -> Path:
    """Predictions go to a local path, so that they can be renamed into place atomically."""
    if is_url(output):
        raise ConfigError(f"--output must be a local path, got {output}")
    path = Path(output).expanduser().resolve()
    if path.is_dir():
        raise ConfigError(f"--output is a folder, expected a file path: {output}")
    if path.suffix.lower() not in PARQUET_SUFFIXES:
        raise ConfigError(f"--output must be a Parquet file (.parquet), got {output}")
    return path


def check_not_an_input(output_path: Path, files: list[str], *, url: str | None = None) -> None:
    """Refuse an output (or its rejected-rows file) that is one of the inputs: it would replace it."""
    written = [output_path, rejected_path_for(output_path)]
    for name in files:
        if is_url(name):
            targets = {url, url.rsplit(".", 1)[0] + ".rejected.parquet"} if url is not None else set()
            if url_to_fs(name)[1].rstrip("/") in {url_to_fs(target)[1].rstrip("/") for target in targets}:
                raise ConfigError(f"--output {url} would overwrite the input {name}; write the predictions elsewhere")
            continue
        source = Path(name).resolve()
        for target in written:
            if source == target.resolve() or (target.exists() and os.path.samefile(source, target)):
                raise ConfigError(
                    f"--output {output_path} would overwrite the input {name}; write the predictions elsewhere"
                )
