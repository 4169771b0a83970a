"""The model registry: versioned packages, the champion pointer, the promotion gate and manual operations.

`Registry` is every named model under one registry folder or URL; `Registry.model(name)` gives
a `RegisteredModel` (versions, champion, history and decisions of one model), which keeps its
files in a `Storage`: `LocalStorage` for a folder, `ObjectStorage` for an fsspec prefix.

The names below are what the rest of regress uses. Each is imported from its module on first
use, so reading the catalog does not import PyTorch (packages and the gate do).
"""

from regress_core.faces import public_face

__all__, __getattr__ = public_face(
    __name__,
    {
        "card": ["build_card", "card_key", "save_card", "version_card"],
        "catalog": [
            "LockProvider",
            "ModelRef",
            "Registry",
            "check_model_name",
            "describe_version",
            "model_name_for",
            "parse_reference",
        ],
        "comparison": ["Comparison", "compare", "paired_bootstrap_interval"],
        "gate": ["Decision", "decide", "gate_candidate"],
        "journal": ["utc_now"],
        "local_storage": ["LocalStorage"],
        "manifest": ["VERSION_PATTERN", "write_manifest"],
        "object_storage": ["ObjectStorage", "local_cache_root"],
        "operations": ["MIN_REASON", "check_reason", "promote_version", "rollback_champion"],
        "package": [
            "CONTRACT",
            "ModelPackage",
            "SEEN_ROWS",
            "load_package",
            "load_package_once",
            "stage_package",
        ],
        "registered_model": ["RegisteredModel"],
        "storage": ["LOCK_TIMEOUT_S", "Storage"],
        "verification": ["VersionCheck", "verify_package", "verify_registry"],
    },
)
