"""The model registry: versioned packages, the champion pointer, the promotion gate and manual operations.

`Registry` is every named model under one registry folder or URL; `Registry.model(name)` gives
a `RegisteredModel` (versions, champion, history and decisions of one model), which keeps its
files in a `Storage`: `LocalStorage` for a folder, `ObjectStorage` for an fsspec prefix.

The names below are what the rest of regress uses. Each is imported from its module on first
use, so reading the catalog does not import PyTorch (packages and the gate do).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from regress_core.registry.catalog import (
        LockProvider,
        ModelRef,
        Registry,
        check_model_name,
        model_name_for,
        parse_reference,
    )
    from regress_core.registry.comparison import Comparison, compare, paired_bootstrap_interval
    from regress_core.registry.gate import Decision, decide, gate_candidate
    from regress_core.registry.journal import utc_now
    from regress_core.registry.local_storage import LocalStorage
    from regress_core.registry.manifest import VERSION_PATTERN, write_manifest
    from regress_core.registry.object_storage import ObjectStorage, local_cache_root
    from regress_core.registry.operations import MIN_REASON, check_reason, promote_version, rollback_champion
    from regress_core.registry.package import (
        CONTRACT,
        SEEN_ROWS,
        ModelPackage,
        describe_version,
        load_package,
        load_package_once,
        stage_package,
    )
    from regress_core.registry.registered_model import RegisteredModel
    from regress_core.registry.storage import LOCK_TIMEOUT_S, Storage

_MODULES = {
    "catalog": ["LockProvider", "ModelRef", "Registry", "check_model_name", "model_name_for", "parse_reference"],
    "comparison": ["Comparison", "compare", "paired_bootstrap_interval"],
    "gate": ["Decision", "decide", "gate_candidate"],
    "journal": ["utc_now"],
    "local_storage": ["LocalStorage"],
    "manifest": ["VERSION_PATTERN", "write_manifest"],
    "object_storage": ["ObjectStorage", "local_cache_root"],
    "operations": ["MIN_REASON", "check_reason", "promote_version", "rollback_champion"],
    "package": [
        "CONTRACT",
        "SEEN_ROWS",
        "ModelPackage",
        "describe_version",
        "load_package",
        "load_package_once",
        "stage_package",
    ],
    "registered_model": ["RegisteredModel"],
    "storage": ["LOCK_TIMEOUT_S", "Storage"],
}
_HOME = {name: module for module, names in _MODULES.items() for name in names}

__all__ = [
    "CONTRACT",
    "LOCK_TIMEOUT_S",
    "MIN_REASON",
    "SEEN_ROWS",
    "VERSION_PATTERN",
    "Comparison",
    "Decision",
    "LocalStorage",
    "LockProvider",
    "ModelPackage",
    "ModelRef",
    "ObjectStorage",
    "RegisteredModel",
    "Registry",
    "Storage",
    "check_model_name",
    "check_reason",
    "compare",
    "decide",
    "describe_version",
    "gate_candidate",
    "load_package",
    "load_package_once",
    "local_cache_root",
    "model_name_for",
    "paired_bootstrap_interval",
    "parse_reference",
    "promote_version",
    "rollback_champion",
    "stage_package",
    "utc_now",
    "write_manifest",
]


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use."""
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
