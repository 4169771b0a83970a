"""Data validation with Great Expectations, the suite generated from the data contract."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from regress_core.data.contract import DataContract, normalize_frame
from regress_core.errors import storage_error

FLOAT_LIMIT = float(np.finfo(np.float64).max)
NUMERIC_TYPES = [
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float16",
    "float32",
    "float64",
    "Int8",
    "Int16",
    "Int32",
    "Int64",
    "UInt8",
    "UInt16",
    "UInt32",
    "UInt64",
    "Float32",
    "Float64",
    "int",
    "float",  # element types, checked one by one when a column holds mixed values
]
# `normalize_frame` turns a datetime column into naive datetime64[us], or Timestamps and the values
# that are not dates, which this element type then names.
DATETIME_TYPES = ["datetime64[us]", "Timestamp"]


@dataclass(frozen=True)
class Failure:
    """One failed expectation, in words a person reads."""

    expectation: str
    column: str | None
    detail: str
    examples: list[Any] = field(default_factory=list)

    def describe(self) -> str:
        where = f"{self.column}: " if self.column else ""
        shown = f" (e.g. {', '.join(_show(value) for value in self.examples)})" if self.examples else ""
        return f"{where}{self.detail}{shown}"


@dataclass(frozen=True)
class ValidationReport:
    """Outcome of validating one table against its contract."""

    success: bool
    n_expectations: int
    failures: list[Failure]
    docs_path: Path | None

    def summary(self) -> str:
        if self.success:
            return f"all {self.n_expectations} expectations passed"
        listed = "; ".join(failure.describe() for failure in self.failures)
        return f"{len(self.failures)} of {self.n_expectations} expectations failed: {listed}"


def _show(value: Any) -> str:
    return repr(value) if isinstance(value, str) else f"{value}"


def build_suite(contract: DataContract, *, name: str = "contract") -> Any:
    """Generate the Great Expectations suite that enforces `contract` on a training table."""
    import great_expectations as gx

    expectations = gx.expectations
    suite: list[Any] = [
        expectations.ExpectTableRowCountToBeBetween(min_value=contract.min_rows),
        expectations.ExpectTableColumnsToMatchSet(column_set=contract.column_names, exact_match=True),
        expectations.ExpectColumnUniqueValueCountToBeBetween(column=contract.target, min_value=2),
    ]
    features = set(contract.feature_names)
    for column in contract.columns:
        suite.append(expectations.ExpectColumnToExist(column=column.name))
        if not column.nullable:
            suite.append(expectations.ExpectColumnValuesToNotBeNull(column=column.name))
        elif column.name in features:
            # A feature with no value at all carries nothing to learn from, and would leave the
            # preprocessing with no columns to fit for it.
            suite.append(expectations.ExpectColumnUniqueValueCountToBeBetween(column=column.name, min_value=1))
        if column.kind == "datetime":
            suite.append(expectations.ExpectColumnValuesToBeInTypeList(column=column.name, type_list=DATETIME_TYPES))
        if column.kind != "numeric":
            continue
        suite.append(expectations.ExpectColumnValuesToBeInTypeList(column=column.name, type_list=NUMERIC_TYPES))
        suite.append(
            expectations.ExpectColumnValuesToBeBetween(
                column=column.name,
                min_value=column.min if column.min is not None else -FLOAT_LIMIT,
                max_value=column.max if column.max is not None else FLOAT_LIMIT,
            )
        )
    # Given whole: `add_expectation` compares each one with all those before it (0.1 s for 40).
    return gx.ExpectationSuite(name=name, expectations=suite)


def _describe(kind: str, kwargs: dict[str, Any], result: dict[str, Any], n_rows: int) -> str:
    count = result.get("unexpected_count")
    counted = f" ({count} of {n_rows} rows)" if count is not None else ""
    if kind == "expect_table_row_count_to_be_between":
        return f"table has {result.get('observed_value')} rows, needs at least {kwargs.get('min_value')}"
    if kind == "expect_table_columns_to_match_set":
        details = result.get("details", {}).get("mismatched", {})
        parts = []
        if details.get("missing"):
            parts.append("missing columns " + ", ".join(map(str, details["missing"])))
        if details.get("unexpected"):
            parts.append("unexpected columns " + ", ".join(map(str, details["unexpected"])))
        return "; ".join(parts) or "columns do not match the contract"
    if kind == "expect_column_unique_value_count_to_be_between" and kwargs.get("min_value") == 1:
        return (
            "every value is blank: a feature needs values to learn from; "
            "drop the column or leave it out with data.features"
        )
    if kind == "expect_column_unique_value_count_to_be_between":
        return f"target is constant: it needs at least 2 distinct values, has {result.get('observed_value')}"
    if kind == "expect_column_to_exist":
        return "column is missing"
    if kind == "expect_column_values_to_be_in_type_list" and kwargs.get("type_list") == DATETIME_TYPES:
        return f"values must be ISO dates or date-times, such as 2024-01-31 or 2024-01-31 08:00:00{counted}"
    if kind == "expect_column_values_to_be_in_type_list":
        return f"values must be numeric{counted}"
    if kind == "expect_column_values_to_not_be_null":
        return f"values must not be blank{counted}"
    if kind == "expect_column_values_to_be_between":
        low, high = kwargs.get("min_value"), kwargs.get("max_value")
        if low == -FLOAT_LIMIT and high == FLOAT_LIMIT:
            return f"values must be finite{counted}"
        return f"values must be finite and between {low:g} and {high:g}{counted}"
    return kind.replace("_", " ")


def _failures(run_result: Any, n_rows: int) -> list[Failure]:
    failed = [item for item in run_result.results if not item.success]
    missing = {
        item.expectation_config.kwargs.get("column")
        for item in failed
        if item.expectation_config.type == "expect_column_to_exist"
    }
    mistyped = {
        item.expectation_config.kwargs.get("column")
        for item in failed
        if item.expectation_config.type == "expect_column_values_to_be_in_type_list"
    }
    failures = []
    for item in failed:
        config = item.expectation_config
        kwargs = dict(config.kwargs)
        column = kwargs.get("column")
        if column in missing:
            continue  # the column-set check names missing columns once
        if column in mistyped and config.type == "expect_column_values_to_be_between":
            continue  # ranges mean nothing for text; the type failure says why
        raised = bool((item.exception_info or {}).get("raised_exception"))
        result = dict(item.result or {})
        detail = "could not be checked" if raised else _describe(config.type, kwargs, result, n_rows)
        examples = [] if config.type.endswith("not_be_null") else result.get("partial_unexpected_list") or []
        shown = list(dict.fromkeys(_plain(value) for value in examples))[:5]
        failures.append(Failure(config.type, column, detail, shown))
    return failures


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _run_checkpoint(checkpoint: Any, df: pd.DataFrame, docs_dir: Path | None) -> Any:
    """Run the checkpoint; a report that cannot be written (full disk, read-only) is removed, not left half-built."""
    try:
        return checkpoint.run(batch_parameters={"dataframe": df})
    except OSError as exc:
        error = storage_error(exc, docs_dir) if docs_dir is not None else None
        if error is None or docs_dir is None:
            raise
        shutil.rmtree(docs_dir, ignore_errors=True)
        if error is exc:
            raise
        raise error from exc


def validate_frame(df: pd.DataFrame, contract: DataContract, *, docs_dir: Path | None = None) -> ValidationReport:
    """Validate a table against its contract with Great Expectations.

    Args:
        df: The table to check.
        contract: The data contract; the suite is generated from it.
        docs_dir: Where to build the Data Docs HTML report; None builds none.

    Returns:
        The report, listing every failed expectation with column and example values.
    """
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    project = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        progress_bars=ProgressBarsConfig(globally=False),
    )
    context = gx.get_context(mode="ephemeral", project_config=project)
    actions: list[gx.checkpoint.ValidationAction] = []
    if docs_dir is not None:
        context.add_data_docs_site(
            site_name="regress",
            site_config={
                "class_name": "SiteBuilder",
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
        actions.append(gx.checkpoint.UpdateDataDocsAction(name="data_docs", site_names=["regress"]))
    batch_definition = (
        context.data_sources.add_pandas("table")
        .add_dataframe_asset(contract.name)
        .add_batch_definition_whole_dataframe("whole")
    )
    suite = context.suites.add(build_suite(contract, name=f"{contract.name}_contract"))
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name="training_table", data=batch_definition, suite=suite)
    )
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(name="regress", validation_definitions=[definition], actions=actions, result_format="SUMMARY")
    )
    outcome = _run_checkpoint(checkpoint, normalize_frame(df, contract), docs_dir)
    run_result = next(iter(outcome.run_results.values()))
    failures = _failures(run_result, len(df))
    return ValidationReport(
        success=bool(run_result.success),
        n_expectations=len(run_result.results),
        failures=failures,
        docs_path=docs_dir / "index.html" if docs_dir is not None else None,
    )
