"""Import the model stages' libraries on a thread while a training run starts.

torch and scikit-learn take about 2 s to import. The training flow is importable without them:
its data stages import the preprocessor when scaling starts, its tasks the model stages when
training starts. A command that trains calls `preload_model_stages` as it starts the flow run,
and the imports go on while this process creates the run, reads the table and waits for the
side process to validate it. Those are waits on the Prefect server and on another process, so
the thread mostly has the interpreter to itself; a bad table is refused without waiting for it.

A stage that reaches its import before the thread is done waits there for the module (Python
locks each module while it is imported), so nothing runs on a half-imported module. A module
that fails to import here is imported again by the stage that needs it, which reports the error;
the thread goes on with the others.
"""

from __future__ import annotations

import importlib
import threading

# What the scale, train, evaluate and publish stages import, heaviest first.
MODEL_STAGE_MODULES = (
    "torch",
    "sklearn.model_selection",
    "regress_core.data.preprocessor_io",
    "regress_core.pipeline.model_stages",
    "regress_core.registry.package",
)

_started: threading.Thread | None = None


def preload_model_stages(modules: tuple[str, ...] = MODEL_STAGE_MODULES) -> threading.Thread:
    """Start importing `modules` on a daemon thread, once per process; the thread is returned."""
    global _started
    if _started is None:
        _started = threading.Thread(target=_import_all, args=(modules,), name="regress-preload", daemon=True)
        _started.start()
    return _started


def _import_all(modules: tuple[str, ...]) -> None:
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # the stage that needs the module imports it again and reports the error there
            continue
