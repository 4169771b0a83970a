"""Stage records as JSON and back, for records that others can write (a workspace in object storage).

Only the record classes listed here are ever built from JSON, field by field and checked
against their type hints: no class is looked up by a name the data gives, and no code
runs while reading. Values with no JSON form (a NumPy scalar in a summary) are written
as their plain Python value.
"""

from __future__ import annotations

import json
from functools import cache
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
        return _adapter(name).validate_python(payload.get("fields"))
    except ValidationError as exc:
        raise ValueError(f"stage record {name} does not fit its fields: {exc.errors()[0]['msg']}") from exc
