"""Public faces of the core's subpackages that import a module only when one of its names is used.

A subpackage's `__init__` lists what the rest may use (`__all__`) without importing every module
up front, so `import regress_core.data.tables` stays as cheap as that one module.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def public_face(package: str, exports: dict[str, list[str]]) -> tuple[list[str], Callable[[str], Any]]:
    """`__all__` and a module `__getattr__` for a package whose modules export these names.

    Args:
        package: The package's `__name__`.
        exports: Module name (relative to the package) to the public names it defines.
    """
    where = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{where[name]}"), name)

    return sorted(where), __getattr__
