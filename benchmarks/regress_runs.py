"""Training regress as `regress train --data FILE` does, for the benchmarks: stages on a temporary workspace."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from regress_core.config import build_config
from regress_core.data.contract import DataContract, dump_contract
from regress_core.model.loop import EpochRecord
from regress_core.pipeline import data_stages, model_stages
from regress_core.pipeline.workspace import Workspace


def train_and_score(
    df: pd.DataFrame,
    contract: DataContract,
    *,
    workdir: Path,
    preset: str = "default",
    split_seed: int = 42,
    train_seed: int = 0,
    overrides: Sequence[str] = (),
) -> dict[str, Any]:
    """Train on one split with the pipeline's own stages; return test metrics, training seconds and the splits.

    The table and its contract are written to `workdir` and read back by the ingest and
    validate stages, so the run is the one a user gets from the command line.
    """
    source, contract_path = workdir / "table.parquet", workdir / "contract.yaml"
    df.to_parquet(source, index=False)
    contract_path.write_text(dump_contract(contract))
    data = {"source": str(source), "contract": str(contract_path)}
    return _run_stages(
        data, workdir=workdir, preset=preset, split_seed=split_seed, train_seed=train_seed, overrides=overrides
    )


def train_csv_and_score(
    source: Path,
    target: str,
    *,
    workdir: Path,
    preset: str = "default",
    split_seed: int = 42,
    train_seed: int = 0,
    overrides: Sequence[str] = (),
    on_epoch: Callable[[EpochRecord], None] | None = None,
) -> dict[str, Any]:
    """As `train_and_score`, for a CSV file given as `regress train --data FILE.csv --target COL` gives it.

    No contract is passed: regress reads the file, infers its contract and chooses its
    features as it does for a new user's file.
    """
    data = {"source": str(source), "target": target}
    return _run_stages(
        data,
        workdir=workdir,
        preset=preset,
        split_seed=split_seed,
        train_seed=train_seed,
        overrides=overrides,
        on_epoch=on_epoch,
    )


def _run_stages(
    data: dict[str, str],
    *,
    workdir: Path,
    preset: str,
    split_seed: int,
    train_seed: int,
    overrides: Sequence[str],
    on_epoch: Callable[[EpochRecord], None] | None = None,
) -> dict[str, Any]:
    """Ingest, validate, split, scale, train, evaluate: "seconds" counts the training stage, "run seconds" all six.

    `on_epoch` is called at every validation check of every network candidate.
    """
    values = {
        "preset": preset,
        "data": data,
        "split": {"seed": split_seed},
        "train": {"seed": train_seed},
        "registry": {"home": str(workdir / f"home-{split_seed}-{train_seed}")},
    }
    config = build_config(values=values, overrides=overrides)
    ws = Workspace.at(config.registry.home)
    run_started = time.perf_counter()
    raw = data_stages.ingest(config.data, ws)
    validated = data_stages.validate(raw, config.data, ws)
    splits = data_stages.split(validated, config.split, ws)
    scaled = data_stages.scale(splits, validated, config.features, ws)
    started = time.perf_counter()
    trained = model_stages.train(scaled, config.model, config.train, ws, on_epoch=on_epoch)
    seconds = time.perf_counter() - started
    evaluation = model_stages.evaluate(trained, scaled, splits, validated, ws)
    selection = trained.summary.get("selection", {})
    return {
        "metrics": evaluation.metrics,
        "seconds": seconds,
        "chosen": selection.get("chosen", trained.spec.kind),
        "candidates": selection.get("candidates", []),
        "precision": trained.summary.get("precision", "float32"),
        "run seconds": time.perf_counter() - run_started,
        "contract": validated.inferred,
        "train": splits.train.read(),
        "val": splits.val.read(),
        "test": splits.test.read(),
    }
