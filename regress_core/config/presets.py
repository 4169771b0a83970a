"""Named presets: the values a preset fills into the fields a configuration leaves empty.

Each preset is a YAML file in the `presets` folder beside this module. `default.yaml` is the
default preset and the starting point of every other; another preset's file holds what it
changes from the default.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Literal, get_args

from regress_core.errors import ConfigError
from regress_core.fileio import read_yaml

PresetName = Literal["default", "notebook", "linear"]
PRESETS_DIR = Path(__file__).with_name("presets")


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Return `base` updated by `override`, merging nested dictionaries."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def read_preset(name: str) -> dict[str, Any]:
    """Read one preset's file as written: its values by section.

    Raises:
        ConfigError: the file is missing, unreadable or not a mapping of sections.
    """
    path = PRESETS_DIR / f"{name}.yaml"
    loaded = read_yaml(path, what="preset file")
    if not isinstance(loaded, dict):
        raise ConfigError(f"preset file {path} must hold a mapping of sections")
    return loaded


def load_presets() -> dict[str, dict[str, Any]]:
    """Every preset by name, as all the values it fills: the default's, updated by its own file's."""
    default = read_preset("default")
    return {
        name: default if name == "default" else deep_merge(default, read_preset(name)) for name in get_args(PresetName)
    }


# Read once, on import: a few small files, only read.
PRESETS: dict[str, dict[str, Any]] = load_presets()
