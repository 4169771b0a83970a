"""The workspace that holds the registry, stage caches and reports of all runs.

A workspace is a local folder or an fsspec URL (`s3://bucket/regress`). For a URL the
registry lives at `<url>/registry`, shared by every machine, stage outputs and their
records are shared under `<url>/cache` (see `shared_cache`), and each machine works on
local copies in a folder of its own named after the URL (see `object_storage.local_cache_root`).
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from regress_core.errors import ConfigError
from regress_core.objectstore import is_remote

DEFAULT_HOME = "regress-home"
HOME_ENV = "REGRESS_HOME"


def chosen_home(home: str | Path | None = None) -> str:
    """The workspace as given: the argument, then $REGRESS_HOME, then ./regress-home."""
    return str(home or os.environ.get(HOME_ENV) or DEFAULT_HOME)


def resolve_home(home: str | Path | None = None) -> Path:
    """The local folder of the workspace (for a URL, this machine's folder for it)."""
    chosen = chosen_home(home)
    if is_remote(chosen):
        from regress_core.registry.object_storage import local_cache_root

        url = chosen.rstrip("/")
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", url.split("://", 1)[1])[:60]
        return local_cache_root() / "workspaces" / f"{slug}-{hashlib.sha256(url.encode()).hexdigest()[:12]}"
    return Path(chosen.removeprefix("file://")).expanduser().resolve()


def check_home(home: str | Path | None = None) -> Path:
    """Resolve the workspace folder and refuse one that is a file or lies under a file.

    Raises:
        ConfigError: naming the file in the way.
    """
    if is_remote(chosen_home(home)):
        from regress_core.objectstore import filesystem_for

        filesystem_for(chosen_home(home))  # a missing filesystem package is named now
        return resolve_home(home)
    root = resolve_home(home)
    for folder in (root, *root.parents):
        if folder.exists():
            if not folder.is_dir():
                raise ConfigError(f"the workspace {root} cannot be used: {folder} is a file, not a folder")
            break
    return root


@dataclass(frozen=True)
class Workspace:
    """Paths inside one workspace. Creating the object touches nothing.

    Attributes:
        root: The local folder (for a remote workspace, this machine's folder for it).
        url: The workspace's URL when it is in object storage.
    """

    root: Path
    url: str | None = None

    @classmethod
    def at(cls, home: str | Path | None = None) -> Workspace:
        chosen = chosen_home(home)
        return cls(resolve_home(chosen), chosen.rstrip("/") if is_remote(chosen) else None)

    @property
    def home(self) -> str:
        """The workspace as a person names it."""
        return self.url or str(self.root)

    @property
    def registry_dir(self) -> str | Path:
        """The registry: a local folder, or a URL for a workspace in object storage."""
        return f"{self.url}/registry" if self.url else self.root / "registry"

    @property
    def cache_dir(self) -> Path:
        return self.root / "cache"

    @property
    def results_dir(self) -> Path:
        """Where the orchestrator persists stage records of a local workspace (`<url>/cache/results` for a URL)."""
        return self.cache_dir / "results"

    @property
    def reports_dir(self) -> Path:
        return self.root / "reports"

    def stage_dir(self, stage: str) -> Path:
        return self.cache_dir / stage

    def relative(self, path: str | Path) -> str:
        """A path inside the workspace, relative to its folder (what cache records store)."""
        return Path(path).resolve().relative_to(self.root.resolve()).as_posix()
