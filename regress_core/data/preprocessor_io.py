"""Saving a fitted preprocessor and loading it back without unpickling anything from the file.

The file is skops's format: a zip of a JSON schema and numpy arrays. Loading rebuilds only
the types named in `TRUSTED_TYPES`, checked here against the whole schema before skops
builds anything, and again by skops itself; any other type (a function to call, a class
of another library) is refused by name. (Pickle only carries a preprocessor in memory: to
and from the side process, and in the copy `save_preprocessor` writes.)
"""

from __future__ import annotations

import io
import json
import pickle
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from regress_core.data.preprocessing import Preprocessor
from regress_core.fileio import atomic_write

ROOT_TYPE = "regress_core.data.preprocessing.Preprocessor"
# Everything a fitted Preprocessor is made of, whichever scaler and column kinds it uses
# (skops writes numbers, booleans and None as JSON text, which needs no type).
TRUSTED_TYPES = (
    ROOT_TYPE,
    "regress_core.data.clipping.RobustSmoothClip",
    "regress_core.data.date_parts.DateParts",
    "regress_core.data.text_features.TextFeatures",
    "builtins.dict",
    "builtins.list",
    "builtins.slice",
    "builtins.str",
    "builtins.tuple",
    "numpy.dtype",
    "numpy.float64",
    "numpy.ndarray",
    "sklearn.compose._column_transformer.ColumnTransformer",
    "sklearn.impute._base.MissingIndicator",
    "sklearn.impute._base.SimpleImputer",
    "sklearn.model_selection._split.KFold",
    "sklearn.pipeline.Pipeline",
    "sklearn.preprocessing._data.QuantileTransformer",
    "sklearn.preprocessing._data.RobustScaler",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.preprocessing._encoders.OneHotEncoder",
    "sklearn.preprocessing._function_transformer.FunctionTransformer",
    "sklearn.preprocessing._target_encoder.TargetEncoder",
)
# skops's node kinds that rebuild data and trusted classes (a cached node repeats one already
# built); the others call or reference functions.
TRUSTED_NODES = frozenset(
    {
        "CachedNode",
        "DictNode",
        "DTypeNode",
        "JsonNode",
        "ListNode",
        "NdArrayNode",
        "ObjectNode",
        "SliceNode",
        "TupleNode",
        "TypeNode",
    }
)


def skops_io() -> ModuleType:
    """skops.io, imported on first use and without its default list of trusted estimators.

    On import, skops lists every scikit-learn estimator (`sklearn.utils.all_estimators`, which
    imports all of scikit-learn, about 2.5 s here) to trust them by default. regress passes its
    own TRUSTED_TYPES and checks every file against them before skops reads it, so that list
    is not wanted: with the listing empty while skops imports, skops trusts TRUSTED_TYPES alone.
    """
    if "skops.io" in sys.modules:
        return sys.modules["skops.io"]
    import sklearn.utils

    listing = sklearn.utils.all_estimators
    sklearn.utils.all_estimators = lambda type_filter=None: []
    try:
        import skops.io
    finally:
        sklearn.utils.all_estimators = listing
    return skops.io


def save_preprocessor(preprocessor: Preprocessor, path: str | Path) -> Path:
    """Atomically write a fitted preprocessor in skops's format.

    skops writes an object met twice once, and which objects are one object changes when a
    preprocessor is pickled (sent to the side process, `regress_core.pipeline.side_process`):
    the preprocessor is written as pickling leaves it, so that its bytes are the same
    wherever it was written.

    Returns:
        The final path.
    """
    data = _reproducible(skops_io().dumps(pickle.loads(pickle.dumps(preprocessor))))
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


def _reproducible(data: bytes) -> bytes:
    # skops names objects and array files by their memory address and stamps the zip with the
    # time; renumbering both in order and fixing the time makes equal preprocessors equal bytes
    # (their hash keys the evaluate stage and the package).
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        schema = json.loads(archive.read("schema.json"))
        arrays = {name: archive.read(name) for name in archive.namelist() if name != "schema.json"}
    numbers: dict[int, int] = {}
    for node in _nodes(schema):
        if "__id__" in node:
            node["__id__"] = numbers.setdefault(node["__id__"], len(numbers) + 1)
        if node.get("type") == "numpy":
            node["file"] = f"{numbers.setdefault(int(node['file'].removesuffix('.npy')), len(numbers) + 1)}.npy"
    renamed = {f"{numbers[int(name.removesuffix('.npy'))]}.npy": body for name, body in arrays.items()}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, body in [("schema.json", json.dumps(schema, indent=2).encode()), *sorted(renamed.items())]:
            archive.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), body)
    return out.getvalue()


def _schema(path: Path) -> dict[str, Any]:
    try:
        with zipfile.ZipFile(path) as archive:
            schema = json.loads(archive.read("schema.json"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise ValueError(f"is not a preprocessor saved by regress ({exc})") from exc
    if not isinstance(schema, dict):
        raise ValueError("is not a preprocessor saved by regress (its schema is not an object)")
    return schema


def _nodes(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if "__loader__" in node:
            yield node
        for value in node.values():
            yield from _nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from _nodes(value)


def _type_name(node: dict[str, Any]) -> str:
    content = node.get("content")
    if isinstance(content, dict) and "module_path" in content:  # a function reference
        return f"{content.get('module_path')}.{content.get('function')}"
    return f"{node.get('__module__')}.{node.get('__class__')}"


def untrusted_types(path: str | Path) -> list[str]:
    """The types in a saved preprocessor that loading would refuse, sorted; empty when it is safe."""
    untrusted = set()
    for node in _nodes(_schema(Path(path))):
        name = _type_name(node)
        if node["__loader__"] not in TRUSTED_NODES or name not in TRUSTED_TYPES:
            untrusted.add(name if node["__loader__"] in TRUSTED_NODES else f"{name} ({node['__loader__']})")
    return sorted(untrusted)


def load_preprocessor(path: str | Path) -> Preprocessor:
    """Load a preprocessor saved by `save_preprocessor`, building trusted types only.

    Raises:
        ValueError: the file is unreadable, holds a type outside `TRUSTED_TYPES` (named in
            the message) or holds something other than a fitted preprocessor.
    """
    path = Path(path)
    untrusted = untrusted_types(path)
    if untrusted:
        kind = "type" if len(untrusted) == 1 else "types"
        raise ValueError(f"holds the untrusted {kind} {', '.join(untrusted)}; refused to load it")
    root = _type_name(_schema(path))
    if root != ROOT_TYPE:
        raise ValueError(f"holds a {root}, not a fitted preprocessor")
    try:
        preprocessor = skops_io().load(path, trusted=list(TRUSTED_TYPES))
    except Exception as exc:  # skops and pydantic raise many kinds for a damaged file
        raise ValueError(f"could not be read ({type(exc).__name__}: {exc})") from exc
    if not isinstance(preprocessor, Preprocessor) or not hasattr(preprocessor, "columns_"):
        raise ValueError("holds no fitted preprocessor")
    return preprocessor
