"""The model stages of the training pipeline: train, evaluate and publish.

Like the data stages, each one reads files, writes its output under a cache key derived
from its inputs, and returns a small record.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from regress_core.config import ModelConfig, RegressConfig, TrainConfig
from regress_core.data.contract import DataContract, load_contract
from regress_core.data.fingerprints import row_fingerprints, save_fingerprints
from regress_core.evaluation.drift import feature_profile
from regress_core.evaluation.explanations import explain, plot_explanations
from regress_core.evaluation.intervals import DEFAULT_LEVEL, IntervalCalibration, calibrate, interval_summary
from regress_core.evaluation.metrics import baseline_metrics, regression_metrics
from regress_core.evaluation.plots import plot_test_and_training
from regress_core.fileio import atomic_write_text, sha256_file
from regress_core.model.device import capped_threads
from regress_core.model.predict import predict_scaled
from regress_core.model.saving import load_model, save_weights
from regress_core.model.selection import TableViews, select_model
from regress_core.model.training import EpochRecord
from regress_core.pipeline.records import (
    Evaluation,
    ScaledTables,
    SplitTables,
    TableRef,
    TrainedModel,
    ValidatedTable,
)
from regress_core.pipeline.side_process import cores_beside, run_beside, submit_beside
from regress_core.pipeline.versioning import code_version, stage_key
from regress_core.pipeline.workspace import Workspace
from regress_core.registry.catalog import LockProvider, ModelRef, Registry, model_name_for
from regress_core.registry.package import INTERVALS, SEEN_ROWS, stage_package

SCALE_ROWS = 50_000  # training rows predicted to shape normalized intervals


def _xy(table: TableRef) -> tuple[np.ndarray, np.ndarray]:
    df = table.read()
    return df.drop(columns="y").to_numpy(dtype=np.float32), df["y"].to_numpy(dtype=np.float32)


def train_key(scaled: ScaledTables, model: ModelConfig, train_config: TrainConfig) -> str:
    return stage_key(
        "train",
        scaled.key,
        scaled.train.sha256,
        scaled.val.sha256,
        # The interval level only changes the evaluation: a new level re-calibrates without training again.
        section={
            "model": model.model_dump(mode="json", exclude={"interval"}),
            "train": train_config.model_dump(mode="json"),
        },
    )


def train(
    scaled: ScaledTables,
    model: ModelConfig,
    train_config: TrainConfig,
    ws: Workspace,
    *,
    on_epoch: Callable[[EpochRecord], None] | None = None,
    progress: bool = False,
) -> TrainedModel:
    """Select and train the model on the scaled training and validation tables; save its weights.

    The summary records the choice (`summary["selection"]`: scheme, chosen kind, every
    candidate's validation RMSE in target units and seconds, and the sized budget) and the
    chosen model's training (epochs, best epoch and loss, device, precision, seconds).
    """
    key = train_key(scaled, model, train_config)
    x_train, y_train = _xy(scaled.train)
    x_val, y_val = _xy(scaled.val)
    views = TableViews(
        x_train=x_train,
        x_val=x_val,
        x_train_standard=_xy(scaled.train_standard)[0],
        x_val_standard=_xy(scaled.val_standard)[0],
        y_train=y_train,
        y_val=y_val,
        indicators=scaled.indicators,
        target_std=scaled.target_std,
    )
    selection = select_model(views, model, train_config, on_epoch=on_epoch, progress=progress)
    weights_path = save_weights(selection.model, ws.stage_dir("train") / key / "model.pt")
    history = [record.to_dict() for record in selection.history]
    chosen = next(score for score in selection.scores if score.name == selection.chosen)
    summary: dict[str, Any] = {
        "epochs": selection.history[-1].epoch if selection.history else 0,
        "best_epoch": selection.best_epoch,
        "best_val_loss": selection.best_val_loss,
        "stopped_early": selection.stopped_early,
        "device": selection.device,
        "precision": selection.precision,
        "threads": selection.threads,
        "threads_reason": selection.threads_reason,
        "seconds": round(chosen.seconds, 3),
        "parameters": sum(p.numel() for p in selection.model.parameters()),
        "selection": selection.summary(),
    }
    if selection.fold_best_epochs is not None:
        summary["fold_best_epochs"] = selection.fold_best_epochs
    return TrainedModel(
        ws.relative(weights_path), sha256_file(weights_path), selection.spec, history, summary, key, str(ws.root)
    )


def evaluate_key(
    trained: TrainedModel, scaled: ScaledTables, splits: SplitTables, *, level: float = DEFAULT_LEVEL
) -> str:
    return stage_key(
        "evaluate",
        trained.key,
        trained.weights_sha256,
        scaled.preprocessor_sha256,
        splits.test.sha256,
        splits.train.sha256,
        splits.val.sha256,
        section={"interval": level},
    )


def _predictions(model: Any, preprocessor: Any, df: pd.DataFrame, *, view: str) -> np.ndarray:
    """The model's predictions in target units for the rows of `df`."""
    return np.asarray(
        preprocessor.inverse_target(predict_scaled(model, preprocessor.transform_features(df, view=view)))
    )


def calibrate_intervals(
    predict: Callable[[pd.DataFrame], np.ndarray], splits: SplitTables, target: str, level: float
) -> IntervalCalibration:
    """Interval quantiles from the validation rows; a seeded sample of training rows shapes normalized widths."""
    train_df, val_df = splits.train.read(), splits.val.read()
    if len(train_df) > SCALE_ROWS:
        train_df = train_df.sample(SCALE_ROWS, random_state=0)
    return calibrate(
        val_df[target].to_numpy(dtype="float64"),
        predict(val_df),
        y_train=train_df[target].to_numpy(dtype="float64"),
        train_prediction=predict(train_df),
        level=level,
    )


def evaluate(
    trained: TrainedModel,
    scaled: ScaledTables,
    splits: SplitTables,
    validated: ValidatedTable,
    ws: Workspace,
    *,
    level: float = DEFAULT_LEVEL,
) -> Evaluation:
    """Test metrics in target units, baselines on the same rows, prediction intervals at `level`, and plots.

    Also the permutation importance of every feature on the test rows, and the test error by
    category of the most important categorical feature (see `explain_predictions`).
    The plots are drawn in the side process where one runs (`regress_core.pipeline.side_process`).
    """
    key = evaluate_key(trained, scaled, splits, level=level)
    contract = load_contract(validated.contract_path)
    preprocessor = scaled.load_preprocessor()
    model = load_model(trained.spec, trained.checked_weights_path())
    # Baselines fit on every row the model could learn from (training and validation), like the model.
    fit_df, test_df = pd.concat([splits.train.read(), splits.val.read()], ignore_index=True), splits.test.read()
    y_true = test_df[contract.target].to_numpy(dtype="float64")
    predict = partial(_predictions, model, preprocessor, view=trained.spec.view)
    y_pred = predict(test_df)
    folder = ws.stage_dir("evaluate") / key
    # The plots are drawn in the side process, where there is one, while this one goes on with
    # the cores the side process leaves it (until the intervals and the importance are done,
    # whether or not the plots finished first: a small table's are done in under a second).
    drawn = submit_beside(plot_test_and_training, y_true, y_pred, trained.history, out_dir=folder)
    with capped_threads(cores_beside()):
        calibration = calibrate_intervals(predict, splits, contract.target, level)
        explained = explain(test_df, y_true, y_pred, predict, contract)
    metrics = regression_metrics(y_true, y_pred)
    plots = drawn.result() | run_beside(plot_explanations, explained, overall_rmse=metrics["rmse"], out_dir=folder)
    return Evaluation(
        metrics=metrics,
        baselines=baseline_metrics(fit_df, test_df, contract=contract),
        plot_files={name: ws.relative(path) for name, path in plots.items()},
        key=key,
        home=str(ws.root),
        plot_sha256={name: sha256_file(path) for name, path in plots.items()},
        intervals=calibration.to_dict(),
        interval_summary=interval_summary(calibration, y_true, y_pred),
        importance=explained.importance,
        category_errors=explained.category_errors,
    )


def package_metadata(
    config: RegressConfig,
    contract: DataContract,
    stages: tuple[ValidatedTable, SplitTables, ScaledTables, TrainedModel, Evaluation],
    model: str,
    run: str | None,
    as_of: datetime | None = None,
) -> dict[str, Any]:
    """What a package records of the run that made it: data, spec, metrics, cache keys and settings.

    `as_of` is the run's instant; `data.window`, for a run on a time window, its bounds, rows per
    day and the rows left out (see `regress_core.data.sources.read_window`).
    """
    validated, splits, scaled, trained, evaluation = stages
    seen_columns = [*contract.feature_names, contract.target]
    return {
        "model": model,
        "feature_profile": feature_profile(splits.train.read(), contract.names_of("numeric")),
        "target": contract.target,
        "features": contract.feature_names,
        "group_keys": list(scaled.group_keys),
        "spec": trained.spec.to_dict(),
        "metrics": evaluation.metrics,
        "baselines": evaluation.baselines,
        "intervals": evaluation.interval_summary,
        "importance": evaluation.importance,
        "error_by_category": evaluation.category_errors or None,
        "training": trained.summary,
        "history": trained.history,
        "data": {
            "source": config.data.source,
            "raw_sha256": validated.table.sha256,
            "rows": validated.table.rows,
            "split_rows": {"train": splits.train.rows, "val": splits.val.rows, "test": splits.test.rows},
            "test_sha256": splits.test.sha256,
            "window": validated.table.window,
        },
        "cache_keys": {
            "ingest": validated.table.key,
            "validate": validated.key,
            "split": splits.key,
            "scale": scaled.key,
            "train": trained.key,
        },
        "seen_rows": {"file": SEEN_ROWS, "columns": sorted(seen_columns), "splits": ["train", "val"]},
        "config": config.model_dump(mode="json"),
        "code_version": code_version(),
        "package_key": evaluation.key,
        "run": run,
        "as_of": as_of.isoformat() if as_of else None,
    }


def publish(
    config: RegressConfig,
    validated: ValidatedTable,
    splits: SplitTables,
    scaled: ScaledTables,
    trained: TrainedModel,
    evaluation: Evaluation,
    ws: Workspace,
    *,
    run: str | None = None,
    locks: LockProvider | None = None,
    as_of: datetime | None = None,
) -> tuple[ModelRef, bool]:
    """Publish the model package as a new version of its named model.

    The model is `registry.model`, or else the data contract's name. The package records
    the fingerprints of its training and validation rows, so a later champion comparison
    can leave those rows out. A model identical to a published one of the same name (same
    weights, preprocessing and test rows) is not published twice: that version is returned.

    Returns:
        The version, and whether it is new.
    """
    from regress_core.evaluation.report import render_report

    contract = load_contract(validated.contract_path)
    registry = Registry(ws.registry_dir, locks=locks).model(config.registry.model or model_name_for(contract.name))
    registry.check_readable()  # a damaged registry is refused before a version is published
    seen_columns = [*contract.feature_names, contract.target]
    stages = (validated, splits, scaled, trained, evaluation)
    metadata = package_metadata(config, contract, stages, registry.name, run, as_of)
    staging = stage_package(
        registry,
        # The manifest will vouch for these files: copy them only as the stages recorded them.
        weights_path=trained.checked_weights_path(),
        preprocessor_path=scaled.checked_preprocessor_path(),
        contract=contract,
        metadata=metadata,
        plots={name: Path(path) for name, path in evaluation.plots.items()},
        documents={INTERVALS: evaluation.intervals} if evaluation.intervals else {},
    )
    try:
        seen = np.concatenate([row_fingerprints(part.read(), seen_columns) for part in (splits.train, splits.val)])
        save_fingerprints(staging / SEEN_ROWS, seen)
        atomic_write_text(staging / "report.html", render_report(json.loads((staging / "package.json").read_text())))
        version, new = registry.publish(staging, package_key=evaluation.key)
    except BaseException:  # a full disk or a read-only registry: no half-written package is left in staging
        registry.discard_staging(staging)
        raise
    return ModelRef(registry.name, version), new
