"""Optional signing of package manifests with a shared secret (HMAC-SHA256).

The manifest's checksums catch a damaged file, but anyone who can write a package folder
can also rewrite its manifest. With `REGRESS_SIGNING_KEY` set, a manifest carries an HMAC
of its file list, and verifying a package refuses one whose signature is missing or does
not match: altering a package then takes the key as well as write access.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Any

from regress_core.errors import RegistryError
from regress_core.fileio import canonical_json

SIGNING_KEY_ENV = "REGRESS_SIGNING_KEY"
SCHEME = "hmac-sha256"


def signing_key() -> bytes | None:
    """The signing key from the environment, or None when signing is off."""
    key = os.environ.get(SIGNING_KEY_ENV, "")
    return key.encode() if key else None


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


def check_signature(manifest: dict[str, Any], version: str) -> None:
    """Refuse a manifest whose signature is missing or wrong, when a key is set.

    Raises:
        RegistryError: naming the version.
    """
    key = signing_key()
    if key is None:
        return
    signature = manifest.get("signature")
    if not isinstance(signature, str):
        raise RegistryError(
            f"model version {version} is not signed, and {SIGNING_KEY_ENV} is set: "
            "it was published without the key, or altered"
        )
    if not hmac.compare_digest(signature, _signature(key, manifest.get("files", {}))):
        raise RegistryError(
            f"model version {version}'s signature does not match: the package was altered or signed with another key"
        )
