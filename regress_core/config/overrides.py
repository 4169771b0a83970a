"""Validated configurations built from a file, command-line values and `--set` overrides."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from regress_core.config.presets import deep_merge
from regress_core.config.scoring import ScoringConfig
from regress_core.config.sections import RegressConfig
from regress_core.errors import ConfigError
from regress_core.fileio import read_yaml


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
