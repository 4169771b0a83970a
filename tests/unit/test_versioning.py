"""Cache keys depend on every source file of the core, in every subpackage."""

import pathlib

import regress_core
from regress_core.pipeline import versioning


def test_code_version_covers_every_module_of_every_subpackage():
    root = pathlib.Path(regress_core.__file__).parent
    on_disk = sorted(path.relative_to(root).as_posix() for path in root.rglob("*.py"))
    covered = [name for name, _ in versioning.core_sources()]
    assert covered == on_disk
    assert {"config/sections.py", "model/training.py", "scoring/streaming.py", "registry/gate.py"} <= set(covered)


def test_a_change_in_a_subpackage_module_changes_the_code_version(monkeypatch):
    before = versioning.code_version()
    sources = versioning.core_sources()
    changed = [(name, text + "\n# changed" if name == "model/training.py" else text) for name, text in sources]
    monkeypatch.setattr(versioning, "core_sources", lambda: changed)
    versioning.code_version.cache_clear()
    try:
        assert versioning.code_version() != before
    finally:
        versioning.code_version.cache_clear()
