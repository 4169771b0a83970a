"""The workspace folder that holds the registry, stage caches and reports of all runs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from regress_core.errors import ConfigError

DEFAULT_HOME = "regress-home"
HOME_ENV = "REGRESS_HOME"


def resolve_home(home: str | Path | None = None) -> Path:
    """Pick the workspace folder: the argument, then $REGRESS_HOME, then ./regress-home."""
    chosen = home or os.environ.get(HOME_ENV) or DEFAULT_HOME
    return Path(chosen).expanduser().resolve()


def check_home(home: str | Path | None = None) -> Path:
    """Resolve the workspace folder and refuse one that is a file or lies under a file.

    Raises:
        ConfigError: naming the file in the way.
    """
    root = resolve_home(home)
    for folder in (root, *root.parents):
        if folder.exists():
            if not folder.is_dir():
                raise ConfigError(f"the workspace {root} cannot be used: {folder} is a file, not a folder")
            break
    return root


@dataclass(frozen=True)
class Workspace:
    """Paths inside one workspace folder. Creating the object touches nothing on disk."""

    root: Path

    @classmethod
    def at(cls, home: str | Path | None = None) -> Workspace:
        return cls(resolve_home(home))

    @property
    def registry_dir(self) -> Path:
        return self.root / "registry"

    @property
    def cache_dir(self) -> Path:
        return self.root / "cache"

    @property
    def results_dir(self) -> Path:
        """Where the orchestrator persists task results and cache records."""
        return self.cache_dir / "results"

    @property
    def reports_dir(self) -> Path:
        return self.root / "reports"

    def stage_dir(self, stage: str) -> Path:
        return self.cache_dir / stage

    def relative(self, path: str | Path) -> str:
        """A path inside the workspace, relative to its folder (what cache records store)."""
        return Path(path).resolve().relative_to(self.root.resolve()).as_posix()
