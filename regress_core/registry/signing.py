"""Optional signing of package manifests with a shared secret (HMAC-SHA256).

The manifest's checksums catch a damaged file, but anyone who can write a package folder
can also rewrite its manifest. With a key set (`REGRESS_SIGNING_KEY`, or `REGRESS_SIGNING_KEY_FILE`
naming a file only its owner can read), a manifest carries an HMAC
of its file list, and verifying a package refuses one whose signature is missing or does
not match: altering a package then takes the key as well as write access.

Without a key nothing is signed or checked, and every use of a package says so
(`unchecked_warning`): a verified package's signature is `SIGNED` (checked against the key),
`NOT_CHECKED` (it carries one, but no key is set) or `UNSIGNED` (it carries none, and no key is set).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
from pathlib import Path
from typing import Any

from regress_core.errors import ConfigError, RegistryError
from regress_core.fileio import canonical_json

SIGNING_KEY_ENV = "REGRESS_SIGNING_KEY"
SIGNING_KEY_FILE_ENV = "REGRESS_SIGNING_KEY_FILE"
SCHEME = "hmac-sha256"

SIGNED = "signed"
NOT_CHECKED = "not checked"
UNSIGNED = "unsigned"
SIGNATURE_STATES = (SIGNED, NOT_CHECKED, UNSIGNED)


def signing_key() -> bytes | None:
    """The signing key from the environment or from a file only its owner can read; None when signing is off.

    Raises:
        ConfigError: the key is set but empty (which would otherwise turn signing off without a
            word), both ways of setting it are used, or the key file cannot be read or is readable
            by others than its owner.
    """
    key = os.environ.get(SIGNING_KEY_ENV)
    key_file = os.environ.get(SIGNING_KEY_FILE_ENV)
    if key is not None and key_file is not None:
        raise ConfigError(f"both {SIGNING_KEY_ENV} and {SIGNING_KEY_FILE_ENV} are set: set one of them")
    if key_file is not None:
        return _key_from_file(key_file)
    if key is None:
        return None
    if not key.strip():
        raise ConfigError(
            f"{SIGNING_KEY_ENV} is set but empty: set it to the signing key, or unset it to work without signatures"
        )
    return key.encode()


def _key_from_file(name: str) -> bytes:
    """The key in the file `name` (without a trailing newline), refused unless only its owner can read it."""
    path = Path(name).expanduser()
    try:
        with open(path, "rb") as handle:
            mode = os.fstat(handle.fileno()).st_mode
            if not stat.S_ISREG(mode):
                raise ConfigError(f"{SIGNING_KEY_FILE_ENV}={name} is not a file: name the file that holds the key")
            if mode & 0o077:
                raise ConfigError(
                    f"{SIGNING_KEY_FILE_ENV}={name} can be read or written by others than its owner "
                    f"(mode {stat.S_IMODE(mode):o}): make it owner-only with `chmod 600 {name}`"
                )
            key = handle.read().rstrip(b"\r\n")
    except OSError as exc:
        raise ConfigError(f"{SIGNING_KEY_FILE_ENV}={name} cannot be read: {exc.strerror or exc}") from exc
    if not key.strip():
        raise ConfigError(f"{SIGNING_KEY_FILE_ENV}={name} is empty: write the signing key into it")
    return key


def _signature(key: bytes, files: dict[str, str]) -> str:
    digest = hmac.new(key, canonical_json(files).encode(), hashlib.sha256).hexdigest()
    return f"{SCHEME}:{digest}"


def signature_fields(files: dict[str, str]) -> dict[str, str]:
    """The manifest fields that sign its file list: empty when no key is set.

    Args:
        files: The manifest's file names and their SHA-256.
    """
    key = signing_key()
    return {"signature": _signature(key, files)} if key else {}


def check_signature(manifest: dict[str, Any], version: str) -> str:
    """Refuse a manifest whose signature is missing or wrong, when a key is set.

    Returns:
        The manifest's signature state: `SIGNED`, `NOT_CHECKED` or `UNSIGNED`.

    Raises:
        RegistryError: naming the version.
    """
    key = signing_key()
    signature = manifest.get("signature")
    if key is None:
        return NOT_CHECKED if isinstance(signature, str) else UNSIGNED
    if not isinstance(signature, str):
        raise RegistryError(
            f"model version {version} is not signed, and {SIGNING_KEY_ENV} is set: "
            "it was published without the key, or altered"
        )
    if not hmac.compare_digest(signature, _signature(key, manifest.get("files", {}))):
        raise RegistryError(
            f"model version {version}'s signature does not match: the package was altered or signed with another key"
        )
    return SIGNED


def describe_signature(state: str) -> str:
    """A signature state in a few words, for summaries and listings (`unsigned, not checked`)."""
    return {
        SIGNED: "signed, signature checked",
        NOT_CHECKED: f"signed, signature not checked ({SIGNING_KEY_ENV} is not set)",
        UNSIGNED: f"unsigned, signature not checked ({SIGNING_KEY_ENV} is not set)",
    }[state]


def unchecked_warning(label: str, state: str) -> str | None:
    """The warning for a package used without its signature checked, or None when it was checked.

    Args:
        label: The version as `model@version`.
        state: Its signature state.
    """
    if state == SIGNED:
        return None
    what = f"model {label} is not signed, so" if state == UNSIGNED else f"model {label} is signed, but"
    return (
        f"{what} its signature was not checked ({SIGNING_KEY_ENV} is not set): its files match its manifest, "
        "but nothing proves who wrote them"
    )
