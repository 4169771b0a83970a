"""The workspace's managed folders are off limits to outputs a person names.

A predictions file or a contract written into a model version's folder, the stage cache or
the reports would corrupt what regress keeps there (a champion that no longer loads), so every
command that writes a user-named path asks `refuse_managed_output` first. The check sees
through `..` segments and symbolic links (paths are resolved), through hard links (an existing
output that shares its inode with a file in a managed folder), and through object-storage
URLs that spell the workspace's prefix differently (`s3://b//ws/./registry`).
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterator
from pathlib import Path

from regress_core.errors import ConfigError
from regress_core.objectstore import is_remote
from regress_core.pipeline.workspace import Workspace

# The folders regress creates and keeps inside a workspace (see `Workspace`): the registry,
# stage caches and Prefect results, validation and training reports, the UI server's state, and
# the scoring ledger (regress_core.scoring.ledger).
MANAGED_FOLDERS = ("registry", "cache", "reports", "ui", "scoring")


def refuse_managed_output(location: str | Path, workspace: Workspace, *, option: str = "--output") -> None:
    """Refuse an output location inside one of the workspace's managed folders.

    Args:
        location: The path or URL a person asked to write.
        workspace: The workspace whose folders are protected.
        option: How the person named the location, for the message.

    Raises:
        ConfigError: one line naming the managed folder the location falls in.
    """
    text = str(location)
    folder: str | Path | None
    if is_remote(text):
        folder = _remote_folder_holding(text, workspace.url)
    else:
        folder = _local_folder_holding(Path(text.removeprefix("file://")).expanduser(), workspace)
    if folder is not None:
        raise ConfigError(
            f"{option} {text} is inside the workspace's managed folder {folder}: "
            "regress keeps models, caches and reports there; write outputs outside the workspace"
        )


def _managed_dirs(workspace: Workspace) -> list[Path]:
    """The managed folders on this machine; for a remote workspace, this machine's whole cache of it."""
    if workspace.url:
        from regress_core.registry.object_storage import local_cache_root

        return [local_cache_root()]
    return [workspace.root.resolve() / name for name in MANAGED_FOLDERS]


def _local_folder_holding(path: Path, workspace: Workspace) -> Path | None:
    """The managed folder that holds `path` (after links and `..` are resolved), if any."""
    resolved = path.resolve()
    for folder in _managed_dirs(workspace):
        if resolved == folder or folder in resolved.parents:
            return folder
    if path.is_file() and os.stat(path).st_nlink > 1:
        return _folder_sharing_inode(path, workspace)
    return None


def _folder_sharing_inode(path: Path, workspace: Workspace) -> Path | None:
    """The managed folder holding another name (a hard link) of the file at `path`, if any."""
    stat = os.stat(path)
    for folder in _managed_dirs(workspace):
        for other in _files_under(folder):
            other_stat = os.stat(other)
            if (other_stat.st_ino, other_stat.st_dev) == (stat.st_ino, stat.st_dev):
                return folder
    return None


def _files_under(folder: Path) -> Iterator[Path]:
    for directory, _, names in os.walk(folder):
        for name in names:
            yield Path(directory) / name


def _normal_url(url: str) -> tuple[str, str]:
    """A URL's protocol and its path with repeated slashes and `.`/`..` segments folded."""
    protocol, _, rest = url.partition("://")
    return protocol.lower(), posixpath.normpath("/" + rest).lstrip("/")


def _remote_folder_holding(url: str, workspace_url: str | None) -> str | None:
    """The workspace URL's managed folder that holds `url`, if any."""
    if workspace_url is None:
        return None
    protocol, path = _normal_url(url)
    home_protocol, home_path = _normal_url(workspace_url)
    if protocol != home_protocol:
        return None
    for name in MANAGED_FOLDERS:
        folder = f"{home_path}/{name}"
        if path == folder or path.startswith(folder + "/"):
            return f"{home_protocol}://{folder}"
    return None
