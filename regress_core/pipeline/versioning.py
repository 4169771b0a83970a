"""Cache keys of pipeline stages: inputs' content hashes, configuration and code version."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from regress_core import __version__
from regress_core.fileio import canonical_json, sha256_text

CORE_DIR = Path(__file__).resolve().parent.parent


def core_sources() -> list[tuple[str, str]]:
    """Every Python source of the core, subpackages included, as (relative path, text), sorted."""
    paths = sorted(CORE_DIR.rglob("*.py"))
    return [(path.relative_to(CORE_DIR).as_posix(), path.read_text(encoding="utf-8")) for path in paths]


@functools.cache
def code_version() -> str:
    """Package version plus a hash of the core's source, so any code change invalidates caches."""
    digest = sha256_text(*(f"{name}\n{text}" for name, text in core_sources()))
    return f"{__version__}+{digest[:12]}"


def stage_key(stage: str, *inputs: str, section: BaseModel | dict[str, Any] | None = None) -> str:
    """A short key for a stage's output from what determines it.

    Args:
        stage: Stage name.
        inputs: Content hashes (or keys) of the stage's inputs.
        section: The configuration section the stage reads.
    """
    if isinstance(section, BaseModel):
        section = section.model_dump(mode="json")
    return sha256_text(stage, code_version(), canonical_json(section), *inputs)[:20]
