"""The training flow starts without torch and scikit-learn; a thread imports them while it runs."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

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


def test_a_module_that_fails_to_import_is_left_to_its_stage(monkeypatch):
    errors: list[object] = []
    monkeypatch.setattr(threading, "excepthook", errors.append)
    monkeypatch.setattr(preload, "_started", None)
    monkeypatch.delitem(sys.modules, "colorsys", raising=False)
    thread = preload.preload_model_stages(("regress_no_such_module", "colorsys"))
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert errors == []  # nothing raised on the thread
    assert "colorsys" in sys.modules  # the next module was still imported
