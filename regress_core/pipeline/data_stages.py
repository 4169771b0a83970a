"""The data stages of the training pipeline: ingest, validate, split and scale.

Each stage's cache key chains its upstream stage's key with its inputs' content hashes,
its configuration section and the code version, so a changed source file invalidates
everything downstream of ingest, while a changed training setting reuses the data stages.

Each stage reads its inputs from files, writes its output under the workspace cache at a
path named by its cache key, and returns a small record. The orchestrator wraps each one
in a task; a notebook or a test can call them directly.

Splitting and scaling import scikit-learn and the preprocessor when they run: ingest and
validation start without them while a thread imports them (`regress_core.pipeline.preload`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from regress_core.config import DataConfig, FeaturesConfig, SplitConfig
from regress_core.data.contract import (
    DataContract,
    describe_contract,
    dump_contract,
    infer_contract,
    load_contract,
    select_features,
)
from regress_core.data.sources import (
    Source,
    WindowedSource,
    default_contract,
    open_source,
    read_source,
    read_window,
    source_name,
)
from regress_core.data.split import order_by_time, split_frame
from regress_core.data.validation import validate_frame
from regress_core.data.window import Window, window_for
from regress_core.errors import ConfigError, DataValidationError
from regress_core.fileio import atomic_write_text, sha256_file
from regress_core.objectstore import ObjectFolder
from regress_core.pipeline.preload import require
from regress_core.pipeline.records import (
    ScaledTables,
    SplitTables,
    TableRef,
    ValidatedTable,
    save_arrow_table,
    save_table,
)
from regress_core.pipeline.side_process import run_beside
from regress_core.pipeline.versioning import stage_key
from regress_core.pipeline.workspace import Workspace

BESIDE_MAX_CELLS = 5_000_000  # tables validated in the side process: up to 250,000 rows of 20 columns


def data_window(data: DataConfig, as_of: datetime) -> Window | None:
    """The window of row times a run dated `as_of` reads; None when no time column is configured."""
    if data.time_column is None:
        return None
    return window_for(as_of, length=data.window, start=data.start, end=data.end, timezone=data.timezone)


def data_source(data: DataConfig, as_of: datetime | None = None) -> Source:
    """The configured source, with a synthetic set's settings, cut to the run's window when one is configured.

    Args:
        data: The data section.
        as_of: The run's instant (now when not given); it ends the window.
    """
    as_of = as_of or datetime.now(UTC)
    window = data_window(data, as_of)
    source = open_source(
        data.source,
        n_rows=data.n_rows,
        noise=data.noise,
        seed=data.seed,
        window=window,
        as_of=as_of,
        table=data.table,
        query=data.query,
        time_column=data.time_column,
    )
    if window is None or data.time_column is None:
        return source
    keep_time = data.features is not None and data.time_column in data.features
    return WindowedSource(source, window, as_of, data.time_column, keep_time=keep_time)


def ingest_key(data: DataConfig, as_of: datetime | None = None) -> str:
    return ingest_key_of(data, data_source(data, as_of))


def ingest_key_of(data: DataConfig, source: Source) -> str:
    fields = {"source", "n_rows", "noise", "seed"}
    if isinstance(source, WindowedSource):
        fields |= {"time_column", "window", "start", "end", "timezone"}
    return stage_key("ingest", source.fingerprint(), section=data.model_dump(include=fields))


def ingest(data: DataConfig, ws: Workspace, *, as_of: datetime | None = None) -> TableRef:
    """Read the source's batches and write its raw snapshot as Parquet.

    With a time window only the window's rows are read (and, for dated partitions, only the
    window's files); the record's `window` then summarises them (see `read_window`).

    Raises:
        DataError: the source cannot be read, or its window holds no rows.
    """
    source = data_source(data, as_of)
    key = ingest_key_of(data, source)
    if not isinstance(source, WindowedSource):
        return save_arrow_table(read_source(source), ws.stage_dir("raw") / f"{key}.parquet", ws, key=key)
    # The time column is read even when it is not a feature: the snapshot is put in time order
    # by it, so a time split can take the latest rows (see `split_frame`).
    table, summary = read_window(replace(source, keep_time=True))
    table = order_by_time(table, source.time_column, timezone=source.window.timezone, keep=source.keep_time)
    raw = save_arrow_table(table, ws.stage_dir("raw") / f"{key}.parquet", ws, key=key)
    return replace(raw, window=summary)


def resolve_contract(data: DataConfig, raw_df: pd.DataFrame) -> DataContract:
    """The contract of the whole table: given, shipped with the source, or inferred."""
    contract: DataContract | None = load_contract(data.contract) if data.contract else default_contract(data.source)
    if contract is None:
        if data.target is None:
            raise ConfigError(f"no data contract for {data.source}: give --target COLUMN (or --contract FILE)")
        contract = infer_contract(raw_df, target=data.target, name=source_name(data.source, data.table))
    return contract.for_target(data.target)


def validate_key(raw: TableRef, data: DataConfig) -> str:
    contract_hash = sha256_file(data.contract) if data.contract and Path(data.contract).is_file() else ""
    return stage_key(
        "validate",
        raw.key,
        raw.sha256,
        contract_hash,
        section=data.model_dump(include={"target", "contract", "source", "features"}),
    )


def validate(raw: TableRef, data: DataConfig, ws: Workspace) -> ValidatedTable:
    """Check the raw table against its contract with Great Expectations.

    Raises:
        DataValidationError: naming every failed expectation; the Data Docs report is saved.
    """
    key = validate_key(raw, data)
    df = raw.read()
    full = resolve_contract(data, df)
    contract = select_features(full, data.features)
    # Contract columns left out of data.features are not validated; unknown ones still fail.
    left_out = set(full.column_names) - set(contract.column_names)
    df = df.drop(columns=[name for name in df.columns if name in left_out])
    docs_dir = ws.reports_dir / "validation" / key
    # Great Expectations runs in the side process where one was started (its import overlaps the
    # main process's); a large table stays here rather than being copied through a pipe.
    if df.size <= BESIDE_MAX_CELLS:
        report = run_beside(validate_frame, df, contract, docs_dir=docs_dir)
    else:
        report = validate_frame(df, contract, docs_dir=docs_dir)
    shown = publish_report(ws, docs_dir, report.docs_path)
    if not report.success:
        raise DataValidationError(
            f"data validation failed: {report.summary()} (report: {shown})",
            report=report,
            contract_name=contract.name,
        )
    contract_path = atomic_write_text(ws.stage_dir("contracts") / f"{key}.yaml", dump_contract(contract))
    return ValidatedTable(
        table=raw,
        contract_file=ws.relative(contract_path),
        contract_sha256=sha256_file(contract_path),
        docs_file=ws.relative(report.docs_path) if report.docs_path else None,
        n_expectations=report.n_expectations,
        key=key,
        home=str(ws.root),
        inferred=describe_contract(contract) if default_contract(data.source) is None and not data.contract else None,
        docs_url=shown if ws.url else None,
    )


def publish_report(ws: Workspace, docs_dir: Path, docs_path: Path | None) -> str | None:
    """Where a person finds a validation report: for a workspace in object storage, uploaded there."""
    if docs_path is None or ws.url is None:
        return None if docs_path is None else str(docs_path)
    prefix = docs_dir.relative_to(ws.root).as_posix()
    ObjectFolder(ws.url).put_tree(docs_dir, prefix)
    return f"{ws.url}/{prefix}/{docs_path.relative_to(docs_dir).as_posix()}"


def split_key(validated: ValidatedTable, split: SplitConfig) -> str:
    return stage_key("split", validated.key, validated.table.sha256, section=split)


def split(validated: ValidatedTable, split_config: SplitConfig, ws: Workspace) -> SplitTables:
    """Split the validated table into train, validation and test Parquet files.

    A time split takes the snapshot's order as time order: a windowed ingest writes its rows
    sorted by their time.
    """
    key = split_key(validated, split_config)
    require("sklearn.model_selection")  # imported by `split_frame`
    parts = split_frame(
        validated.table.read(),
        test_size=split_config.test_size,
        val_size=split_config.val_size,
        seed=split_config.seed,
        strategy=split_config.strategy or "random",
    )
    folder = ws.stage_dir("split") / key
    refs = {
        name: save_table(getattr(parts, name), folder / f"{name}.parquet", ws, key=key)
        for name in ("train", "val", "test")
    }
    return SplitTables(**refs, key=key)


def scale_key(splits: SplitTables, validated: ValidatedTable, features: FeaturesConfig) -> str:
    return stage_key(
        "scale", splits.key, splits.train.sha256, splits.val.sha256, validated.contract_sha256, section=features
    )


def scale(splits: SplitTables, validated: ValidatedTable, features: FeaturesConfig, ws: Workspace) -> ScaledTables:
    """Fit the preprocessor on train only; write scaled train and validation tables in both views.

    The configured view feeds the networks, the standardised one the closed-form linear
    candidate; with the standard scaler configured they are the same tables.

    Raises:
        ConfigError: the features section is not resolved (scaler or scale_target unset).
    """
    if features.scaler is None or features.scale_target is None:
        raise ConfigError("features.scaler and features.scale_target are unset; resolve the configuration first")
    require("regress_core.data.preprocessor_io")
    from regress_core.data.preprocessing import VIEWS, Preprocessor
    from regress_core.data.preprocessor_io import save_preprocessor

    key = scale_key(splits, validated, features)
    contract = load_contract(validated.contract_path)
    train_df, val_df = splits.train.read(), splits.val.read()
    preprocessor = Preprocessor(contract=contract, scaler=features.scaler, scale_target=features.scale_target)
    # Target encodings cross-fitted on the training rows; the validation rows' values only check group keys.
    train_views = preprocessor.fit_transform_views(train_df, held_out=val_df)
    folder = ws.stage_dir("scale") / key
    frames = {"train": train_df, "val": val_df}
    refs: dict[str, TableRef] = {}
    for view in VIEWS:
        if view == "standard" and features.scaler == "standard":
            refs.update({f"{name}_standard": refs[name] for name in frames})
            continue
        suffix = "" if view == "configured" else "_standard"
        for name, df in frames.items():
            x = train_views[view] if name == "train" else preprocessor.transform_features(df, view=view)
            scaled = pd.DataFrame(x, columns=[f"x{i}" for i in range(preprocessor.n_features_out_)])
            scaled["y"] = preprocessor.transform_target(df[contract.target])
            refs[f"{name}{suffix}"] = save_table(scaled, folder / f"{name}{suffix}.parquet", ws, key=key)
    # Written in the side process where one runs: skops is imported there (0.6 s here).
    preprocessor_path = run_beside(save_preprocessor, preprocessor, folder / "preprocessor.skops")
    return ScaledTables(
        **refs,
        preprocessor_file=ws.relative(preprocessor_path),
        preprocessor_sha256=sha256_file(preprocessor_path),
        indicators=tuple(preprocessor.indicator_columns()),
        target_std=preprocessor.target_std_,
        key=key,
        home=str(ws.root),
        group_keys=tuple(preprocessor.group_keys_),
    )
