"""Version names and manifests: what makes a folder of files a published version.

A version's manifest records the SHA-256 of every other file of its package (and, with a
signing key set, an HMAC of that list). It is written last, so a version whose manifest
exists was complete, and checking every file against it catches one altered since.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from regress_core.errors import RegistryError
from regress_core.fileio import atomic_write_json, sha256_file
from regress_core.registry.signing import signature_fields

MANIFEST = "manifest.json"
VERSION_PATTERN = re.compile(r"^v\d{4,}$")


def check_version_name(version: str) -> str:
    """Refuse version names that are malformed or could escape the registry."""
    if not VERSION_PATTERN.match(version):
        raise RegistryError(f"invalid model version {version!r}: expected a name like v0001")
    return version


def version_number(version: str) -> int:
    """The number of a version name (`v0012` -> 12), by which versions are ordered."""
    return int(version[1:])


def write_manifest(package_dir: Path) -> dict[str, str]:
    """Record the SHA-256 of every file in a package folder, written last (signed when a key is set).

    Returns:
        The package's file names (relative to the folder) and their SHA-256.
    """
    files = {
        str(path.relative_to(package_dir)): sha256_file(path)
        for path in sorted(package_dir.rglob("*"))
        if path.is_file() and path.name != MANIFEST
    }
    atomic_write_json(package_dir / MANIFEST, {"files": files, **signature_fields(files)})
    return files


def check_package_files(package_dir: Path, manifest: dict[str, Any], version: str) -> None:
    """Refuse a package folder whose files differ from its manifest in any way."""
    expected = manifest["files"]
    present = {str(p.relative_to(package_dir)) for p in package_dir.rglob("*") if p.is_file() and p.name != MANIFEST}
    for name in sorted(set(expected) | present):
        path = package_dir / name
        if name not in expected:
            raise RegistryError(f"model version {version} was altered: unexpected file {name}")
        if not path.is_file():
            raise RegistryError(f"model version {version} is incomplete: {name} is missing")
        if sha256_file(path) != expected[name]:
            raise RegistryError(f"model version {version} was altered: checksum mismatch in {name}")


def unreadable_manifest(label: str, where: str, fault: object) -> RegistryError:
    """The error for a manifest that cannot be read or parsed, naming the version and the file."""
    return RegistryError(
        f"model version {label} has an unreadable manifest ({where}: {fault}); "
        "the version cannot be used: promote or retrain another"
    )


def parse_manifest(data: bytes, *, where: str, label: str) -> dict[str, Any]:
    """A manifest's content, with its files checked to be a mapping.

    Args:
        data: The manifest file's bytes.
        where: The file as a person finds it.
        label: The version as `model@version`.
    """
    try:
        manifest = json.loads(data.decode("utf-8", errors="replace"))
        if not isinstance(manifest.get("files"), dict):
            raise TypeError("its files are not a mapping")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise unreadable_manifest(label, where, exc) from exc
    return dict(manifest)
