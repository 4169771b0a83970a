"""The house rules of the code base: small modules and functions, imports that only point down, public faces."""

from __future__ import annotations

import ast
import importlib
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("regress_core", "tasks", "flows", "regress_cli")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
# regress_core's parts from the bottom up: a part imports only from itself and from lower layers.
LAYERS = (
    ("__init__", "errors", "failpoints", "faces", "processes"),
    ("fileio",),
    ("data",),
    ("objectstore", "config"),
    ("evaluation", "model"),
    ("monitoring", "registry"),
    ("scoring",),
    ("pipeline",),
)
RANK = {part: rank for rank, parts in enumerate(LAYERS) for part in parts}


def modules(*packages: str) -> list[Path]:
    return sorted(path for package in packages for path in (ROOT / package).rglob("*.py"))


def module_name(path: Path) -> str:
    name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    return name.removesuffix(".__init__")


def core_imports(path: Path) -> set[str]:
    """The regress_core modules a file imports, at its top or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("regress_core"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("regress_core"))
    return found


def part(module: str) -> str:
    """The part of regress_core a module belongs to: its subpackage, or the top-level module's name."""
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 else "__init__"


@pytest.mark.parametrize("path", modules(*PACKAGES), ids=lambda path: str(path.relative_to(ROOT)))
def test_no_module_is_over_400_lines(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.relative_to(ROOT)} has {lines} lines: split it by what it does"


def test_no_function_in_the_core_is_over_60_lines():
    long = []
    for path in modules("regress_core"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({length} lines)")
    assert not long, "functions over 60 lines: " + ", ".join(long)


def test_every_part_of_the_core_has_a_layer():
    parts = {part(module_name(path)) for path in modules("regress_core")}
    assert parts <= set(RANK), f"parts with no layer in LAYERS: {sorted(parts - set(RANK))}"


def test_core_imports_point_only_down_the_layers():
    upward = []
    for path in modules("regress_core"):
        source = part(module_name(path))
        for target in core_imports(path):
            if part(target) != source and RANK[part(target)] >= RANK[source]:
                upward.append(f"{module_name(path)} imports {target}")
    assert not upward, "imports up or across the layers: " + "; ".join(sorted(upward))


def test_the_core_has_no_import_circle():
    graph: dict[str, set[str]] = defaultdict(set)
    names = {module_name(path) for path in modules("regress_core")}
    for path in modules("regress_core"):
        for target in core_imports(path):
            while target not in names and "." in target:  # `from pkg.module import name`
                target = target.rsplit(".", 1)[0]
            if target != module_name(path):
                graph[module_name(path)].add(target)
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*trail[trail.index(nxt) :], nxt] if nxt in trail else [node, nxt]
            if nxt not in state and (circle := visit(nxt, [*trail, nxt])):
                return circle
        state[node] = 2
        return None

    for start in sorted(names):
        if start not in state and (circle := visit(start, [start])):
            pytest.fail("import circle: " + " -> ".join(circle))


@pytest.mark.parametrize(
    "package", sorted({module_name(path.parent / "__init__.py") for path in modules("regress_core")} - {"regress_core"})
)
def test_every_core_subpackage_names_its_public_face(package):
    module = importlib.import_module(package)
    assert isinstance(getattr(module, "__all__", None), list | tuple), f"{package}/__init__.py has no __all__"
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert not missing, f"{package}.__all__ names what it does not have: {missing}"
