"""Stage records as JSON and back, for records that others can write (a workspace in object storage).

Only the record classes listed here are ever built from JSON, field by field and checked
against their type hints: no class is looked up by a name the data gives, and no code
runs while reading. File names must be relative paths inside the workspace and content
hashes hex SHA-256, so a record cannot point a stage at a file elsewhere on the machine.
Values with no JSON form (a NumPy scalar in a summary) are written as their plain Python value.
"""

from __future__ import annotations

import json
import re
from dataclasses import fields, is_dataclass
from functools import cache
from pathlib import PurePosixPath
from typing import Any

import numpy as np
from pydantic import TypeAdapter, ValidationError

from regress_core.pipeline.records import (
    Evaluation,
    ScaledTables,
    SplitTables,
    TableRef,
    TrainedModel,
    ValidatedTable,
)

RECORD_TYPES: dict[str, type] = {
    cls.__name__: cls for cls in (TableRef, ValidatedTable, SplitTables, ScaledTables, TrainedModel, Evaluation)
}
FORMAT = "regress-record/1"
SHA256 = re.compile(r"[0-9a-f]{64}")


@cache
def _adapter(name: str) -> TypeAdapter[Any]:
    return TypeAdapter(RECORD_TYPES[name])


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"a stage record holds a {type(value).__name__}, which has no JSON form")


def dump_record(record: object) -> bytes:
    """The record as JSON bytes.

    Raises:
        TypeError: the object is not one of the stage records.
    """
    name = type(record).__name__
    if RECORD_TYPES.get(name) is not type(record):
        raise TypeError(f"{name} is not a stage record")
    fields = _adapter(name).dump_python(record, mode="json", fallback=_plain)
    return json.dumps({"format": FORMAT, "record": name, "fields": fields}, sort_keys=True).encode()


def load_record(blob: bytes) -> Any:
    """The record that `dump_record` wrote.

    Raises:
        ValueError: the bytes are not such a record (another format, an unknown record
            class, or fields that do not fit it).
    """
    try:
        payload = json.loads(blob)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not a stage record: {exc}") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError("not a stage record: no regress-record format marker")
    name = payload.get("record")
    if name not in RECORD_TYPES:
        raise ValueError(f"not a stage record: unknown record class {name!r}")
    try:
        record = _adapter(name).validate_python(payload.get("fields"))
    except ValidationError as exc:
        raise ValueError(f"stage record {name} does not fit its fields: {exc.errors()[0]['msg']}") from exc
    _check_names(record)
    return record


def _named(field: str, value: Any, single: str, many: str) -> list[Any]:
    if field == many:
        return list(value.values())
    return [value] if field == single or field.endswith(f"_{single}") else []


def _check_names(record: object) -> None:
    """Refuse file names that leave the workspace and hashes that are not SHA-256."""
    for item in fields(record):  # type: ignore[arg-type]
        value = getattr(record, item.name)
        if is_dataclass(value):
            _check_names(value)
            continue
        for file in _named(item.name, value, "file", "plot_files"):
            path = PurePosixPath(str(file))
            if file is not None and (path.is_absolute() or ".." in path.parts or "\\" in str(file)):
                raise ValueError(f"stage record names the file {file!r} outside its workspace")
        for digest in _named(item.name, value, "sha256", "plot_sha256"):
            if not SHA256.fullmatch(str(digest)):
                raise ValueError(f"stage record holds {digest!r} where a SHA-256 belongs")
