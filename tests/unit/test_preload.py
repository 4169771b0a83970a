"""The training flow starts without torch and scikit-learn; a thread imports them while it runs."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from regress_core.pipeline import preload

ROOT = Path(__file__).parents[2]


def run_python(script: str) -> None:
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_training_flow_imports_without_torch_scikit_learn_or_scipy():
    run_python(
        "import sys\n"
        "import flows.training\n"
        "import regress_cli.commands.train\n"
        "heavy = sorted({name.split('.')[0] for name in sys.modules} & {'torch', 'sklearn', 'scipy', 'matplotlib'})\n"
        "assert not heavy, f'importing the training flow imported {heavy}'\n"
    )


def test_preload_imports_the_model_stages_on_one_thread_per_process():
    run_python(
        "import sys\n"
        "import flows.training\n"
        "from regress_core.pipeline.preload import MODEL_STAGE_MODULES, preload_model_stages\n"
        "thread = preload_model_stages()\n"
        "assert thread.daemon and thread.name == 'regress-preload'\n"
        "assert preload_model_stages() is thread\n"
        "thread.join(timeout=120)\n"
        "missing = [name for name in MODEL_STAGE_MODULES if name not in sys.modules]\n"
        "assert not missing, missing\n"
    )


@pytest.fixture
def fresh_preload(monkeypatch, tmp_path):
    """A process where no preload thread has started; `tmp_path` is importable."""
    monkeypatch.setattr(preload, "_started", None)
    monkeypatch.setattr(preload, "_done", {})
    monkeypatch.setattr(preload, "_failed", {})
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("regress_slow_module", "regress_broken_module", "colorsys"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    return tmp_path


def test_require_waits_until_the_thread_has_imported_the_module(fresh_preload):
    (fresh_preload / "regress_slow_module.py").write_text("import time\ntime.sleep(0.5)\nDONE = True\n")
    preload.preload_model_stages(("regress_slow_module",))
    preload.require("regress_slow_module")
    # In sys.modules from the start of its import: only the whole import sets DONE.
    assert sys.modules["regress_slow_module"].DONE


def test_require_raises_the_error_that_stopped_the_thread_for_that_module_and_those_after_it(
    fresh_preload, monkeypatch
):
    errors: list[object] = []
    monkeypatch.setattr(threading, "excepthook", errors.append)
    (fresh_preload / "regress_broken_module.py").write_text("raise ImportError('libtorch_cpu.so: cannot open')\n")
    thread = preload.preload_model_stages(("json", "regress_broken_module", "colorsys"))
    thread.join(timeout=30)
    assert errors == []  # nothing raised on the thread itself
    preload.require("json")
    for name in ("regress_broken_module", "colorsys"):  # a later module may need the broken one
        with pytest.raises(ImportError, match=r"libtorch_cpu\.so: cannot open"):
            preload.require(name)
    assert "colorsys" not in sys.modules  # the thread stopped at the first failure


def test_require_returns_at_once_for_a_module_no_thread_imports(fresh_preload):
    preload.require("regress_core.pipeline.model_stages")  # no thread started
    preload.preload_model_stages(("json",)).join(timeout=30)
    preload.require("colorsys")  # not the thread's: the caller's import does the work
