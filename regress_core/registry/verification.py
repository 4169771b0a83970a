"""Verifying published versions: every file against its manifest, and the signature with a key set.

`verify_package` is what every use of a package goes through; `verify_registry` checks every
version of every model (or the ones a reference names) and reports each, failures included,
instead of stopping at the first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from regress_core.errors import RegistryError
from regress_core.registry.catalog import SEPARATOR, Registry, parse_reference
from regress_core.registry.manifest import MANIFEST, parse_manifest
from regress_core.registry.registered_model import RegisteredModel
from regress_core.registry.signing import check_signature, signing_key


def verify_package(registry: RegisteredModel, version: str) -> tuple[Path, str]:
    """Check every file of a version against its manifest, and its signature with a signing key set.

    Returns:
        A local folder holding the version's files, and its signature state (`signing.SIGNED`,
        or `NOT_CHECKED`/`UNSIGNED` when no key is set: see `signing.unchecked_warning`).

    Raises:
        RegistryError: the version is missing, incomplete or altered, or its signature is
            missing or wrong while a key is set.
        ConfigError: the signing key is set but empty.
    """
    package_dir = registry.verify(version)
    path = package_dir / MANIFEST
    manifest = parse_manifest(path.read_bytes(), where=str(path), label=f"{registry.name}@{version}")
    return package_dir, check_signature(manifest, version)


@dataclass(frozen=True)
class VersionCheck:
    """The outcome of verifying one version: its signature state, or why it failed."""

    model: str
    version: str
    signature: str | None = None
    problem: str | None = None

    @property
    def label(self) -> str:
        return f"{self.model}{SEPARATOR}{self.version}"

    @property
    def ok(self) -> bool:
        return self.problem is None


def check_version(registry: RegisteredModel, version: str) -> VersionCheck:
    """Verify one version, returning what went wrong rather than raising it."""
    try:
        _, signature = verify_package(registry, version)
    except RegistryError as exc:
        return VersionCheck(registry.name, version, problem=str(exc))
    except OSError as exc:  # a file that cannot be read is a failed version, not the end of the check
        return VersionCheck(registry.name, version, problem=f"cannot read {exc.filename or 'a file'}: {exc.strerror}")
    return VersionCheck(registry.name, version, signature=signature)


def verify_registry(registry: Registry, reference: str | None = None) -> list[VersionCheck]:
    """Verify every version of every model, of one model (`NAME`) or one version (`NAME@v0003`).

    Args:
        registry: The registry.
        reference: None for every model; a bare model name for each of its versions; any other
            reference (`NAME@v0003`, `NAME@champion`, `v0003`) for that one version.

    Returns:
        One check per version, models by name and versions oldest first.

    Raises:
        ConfigError: the signing key is set but empty.
        RegistryError: the reference names no model of the registry.
    """
    signing_key()  # an empty key is refused before anything is read
    if reference is None:
        models = [registry.model(name) for name in registry.models()]
        return [check_version(model, version) for model in models for version in model.versions()]
    name, _ = parse_reference(reference)
    if name is not None and SEPARATOR not in reference:
        names = registry.models()
        if name not in names:
            known = ", ".join(names) or "none yet"
            raise RegistryError(f"no model named {name!r} in {registry.root} (models: {known})")
        model = registry.model(name)
        return [check_version(model, version) for version in model.versions()]
    model, ref = registry.resolve(reference)
    return [check_version(model, ref.version)]
