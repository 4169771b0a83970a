"""The registry as a catalog of named models, and references to their versions.

Every training run publishes under a model name (`registry.model`, by default the data
contract's name). Each model has its own versions, champion, history and decisions in
`<registry>/models/<name>/` (a `RegisteredModel`), so the gate only ever compares a candidate
with the champion of its own model.

A registry written before models had names keeps its one model at the registry's root
(`versions/`, `champion.json`, ...). It is read in place as one model, named after the
contract of its newest version, and further runs of that model keep publishing there: nothing
is moved, so nothing can be half-moved.

References name a model, a version or both: `sales` (its champion), `sales@v0003`,
`sales@champion`; `v0003` and `champion` alone work while the registry holds one model.

The registry can also live in object storage (an fsspec URL such as `s3://bucket/regress/registry`):
its models then keep their files under prefixes with the same layout of names (`object_storage`)
instead of local folders (`local_storage`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from regress_core.config import MODEL_NAME_CHARACTERS
from regress_core.errors import RegistryError
from regress_core.objectstore import ObjectFolder, is_remote
from regress_core.registry.local_storage import LocalStorage
from regress_core.registry.manifest import MANIFEST, VERSION_PATTERN, check_version_name
from regress_core.registry.object_storage import ObjectStorage
from regress_core.registry.registered_model import POINTER, RegisteredModel
from regress_core.registry.storage import Storage

# Hands out the lock of one model's champion switch, given a name unique to the registry and model.
LockProvider = Callable[[str], AbstractContextManager[object]]

MODEL_NAME_PATTERN = re.compile(r"^(?!v\d{4,}$)(?!champion$)" + MODEL_NAME_CHARACTERS.removeprefix("^"))
CHAMPION = "champion"
SEPARATOR = "@"
LEGACY_NAME = "default"


def check_model_name(name: str) -> str:
    """Refuse a model name that could escape the registry or read as a version."""
    if not MODEL_NAME_PATTERN.match(name):
        raise RegistryError(
            f"invalid model name {name!r}: use letters, digits, '_', '-' or '.' (up to 100, starting with a letter "
            "or digit), and not a version name or 'champion'"
        )
    return name


def model_name_for(text: str) -> str:
    """A valid model name made from a contract or file name (`My Sales 2024` -> `my_sales_2024`)."""
    name = re.sub(r"[^a-z0-9_.-]+", "_", text.strip().lower()).strip("_.-")[:100] or "model"
    return name if MODEL_NAME_PATTERN.match(name) else f"model_{name}"[:100]


@dataclass(frozen=True)
class ModelRef:
    """A version of a named model: `name@v0003`."""

    model: str
    version: str

    def __str__(self) -> str:
        return f"{self.model}{SEPARATOR}{self.version}"


def parse_reference(reference: str | None) -> tuple[str | None, str]:
    """Split a reference into (model name or None, version name or "champion").

    Raises:
        RegistryError: the model or version part is malformed.
    """
    text = (reference or CHAMPION).strip()
    model, sep, version = text.partition(SEPARATOR)
    if not sep:
        if text == CHAMPION or VERSION_PATTERN.match(text):
            return None, text
        return check_model_name(text), CHAMPION
    version = version or CHAMPION
    if version != CHAMPION and not VERSION_PATTERN.match(version):
        raise RegistryError(f"invalid model version {version!r} in {text!r}: expected a name like {model}@v0001")
    return check_model_name(model), version


class Registry:
    """Every named model under one registry folder, local or in object storage.

    Args:
        root: A local folder or an fsspec URL.
        locks: Hands out each model's promotion lock by name (required for object storage,
            where a file lock cannot serialise machines; by default a file lock locally).
    """

    def __init__(self, root: str | Path, *, locks: LockProvider | None = None) -> None:
        self.folder = ObjectFolder(str(root)) if is_remote(root) else None
        self.root: Any = self.folder.url if self.folder else Path(root)
        self.locks = locks

    @property
    def remote(self) -> bool:
        return self.folder is not None

    @property
    def models_dir(self) -> Path:
        return Path(self.root) / "models"

    def lock_name(self, model: str) -> str:
        """The name of a model's promotion lock: unique to this registry's location and the model."""
        digest = hashlib.sha256(str(self.root).encode()).hexdigest()[:12]
        return f"regress-promotion-{model}-{digest}"

    def legacy_name(self) -> str | None:
        """The name of the one model a registry from before named models keeps at its root, if any."""
        if self.folder is not None:
            return None  # object-storage registries began with named models
        versions = self.root / "versions"
        if not versions.is_dir():
            return None
        published = sorted(
            (name for name in os.listdir(versions) if VERSION_PATTERN.match(name)),
            key=lambda name: int(name[1:]),
            reverse=True,
        )
        for version in published:  # the newest readable one; a name recorded in the package wins
            try:
                recorded = json.loads((versions / version / "package.json").read_text()).get("model")
                if recorded:
                    return check_model_name(str(recorded))
                contract = yaml.safe_load((versions / version / "contract.yaml").read_text())
                return model_name_for(str(contract["name"]))
            except (OSError, ValueError, TypeError, KeyError, AttributeError, yaml.YAMLError, RegistryError):
                continue
        return LEGACY_NAME

    def models(self) -> list[str]:
        """Names of the models with at least one published version or a champion, sorted."""
        if self.folder is not None:
            return self._remote_models(self.folder)
        names = set()
        if self.models_dir.is_dir():
            for name in os.listdir(self.models_dir):
                folder = self.models_dir / name
                if MODEL_NAME_PATTERN.match(name) and (
                    (folder / POINTER).is_file() or any((folder / "versions").glob(f"*/{MANIFEST}"))
                ):
                    names.add(name)
        legacy = self.legacy_name()
        if legacy is not None:
            names.add(legacy)
        return sorted(names)

    @staticmethod
    def _remote_models(folder: ObjectFolder) -> list[str]:
        names = set()
        for key in folder.keys("models"):
            parts = key.split("/")
            published = len(parts) == 5 and parts[2] == "versions" and parts[4] == MANIFEST
            if MODEL_NAME_PATTERN.match(parts[1]) and (published or parts[2:] == [POINTER]):
                names.add(parts[1])
        return sorted(names)

    def model(self, name: str) -> RegisteredModel:
        """The versions of one model (created on first publish)."""
        check_model_name(name)
        lock = (lambda: self.locks(self.lock_name(name))) if self.locks else None  # type: ignore[misc]
        storage: Storage
        if self.folder is not None:
            storage = ObjectStorage(self.folder.child("models", name))
        elif name == self.legacy_name():
            storage = LocalStorage(self.root)
        else:
            storage = LocalStorage(self.models_dir / name)
        return RegisteredModel(storage, name, lock=lock)

    def only_model(self, *, hint: str) -> RegisteredModel:
        """The registry's one model, for references that name no model.

        Raises:
            RegistryError: the registry holds no model, or several (naming them, with `hint`).
        """
        names = self.models()
        if not names:
            raise RegistryError(f"no models yet in {self.root}: train one first with `regress train`")
        if len(names) > 1:
            raise RegistryError(
                f"the registry at {self.root} holds {len(names)} models ({', '.join(names)}): name one, e.g. {hint}"
            )
        return self.model(names[0])

    def resolve(self, reference: str | None) -> tuple[RegisteredModel, ModelRef]:
        """Turn a reference into its model and a published version name (a champion is looked up).

        Raises:
            RegistryError: unknown model, no champion yet, or an ambiguous reference.
        """
        name, version = parse_reference(reference)
        names = self.models()  # one listing (it reads the folder and, for an old registry, a package)
        if name is None:
            example = f"--model {next(iter(names), 'NAME')}"
            model = self.only_model(hint=f"{example} or {example}{SEPARATOR}v0001")
        else:
            if name not in names:
                known = ", ".join(names) or "none yet"
                raise RegistryError(f"no model named {name!r} in {self.root} (models: {known})")
            model = self.model(name)
        if version == CHAMPION:
            champion = model.champion()
            if champion is None:
                raise RegistryError(
                    f"model {model.name} has no champion yet in {self.root}: train it with `regress train`"
                )
            version = champion
        return model, ModelRef(model.name, check_version_name(version))


def describe_version(registry: RegisteredModel, version: str) -> dict[str, Any]:
    """A version's summary for listings: model, metrics, champion flag, creation time."""
    metadata = registry.metadata(version)
    return {
        "model": registry.name,
        "version": version,
        "created_at": metadata.get("created_at"),
        "champion": registry.champion() == version,
        "metrics": metadata.get("metrics", {}),
        "preset": metadata.get("config", {}).get("preset"),
        "source": metadata.get("data", {}).get("source"),
    }
