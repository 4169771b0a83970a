"""Import the model stages' libraries on a thread while a training run starts.

torch and scikit-learn take about 2 s to import. The training flow is importable without them:
its data stages import the preprocessor when scaling starts, its tasks the model stages when
training starts. A command that trains calls `preload_model_stages` as it starts the flow run,
and the imports go on while this process creates the run, reads the table and waits for the
side process to validate it. Those are waits on the Prefect server and on another process, so
the thread mostly has the interpreter to itself; a bad table is refused without waiting for it.

A stage calls `require` before importing what the thread imports: it waits until the thread is
done with that module, and raises the error that stopped the thread if one did. Imported again,
a module that failed half-way (torch with some of its submodules loaded) fails differently,
with an error that hides the cause.
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
_done: dict[str, threading.Event] = {}
_failed: dict[str, Exception] = {}


def preload_model_stages(modules: tuple[str, ...] = MODEL_STAGE_MODULES) -> threading.Thread:
    """Start importing `modules` on a daemon thread, once per process; the thread is returned."""
    global _started
    if _started is None:
        _done.update({name: threading.Event() for name in modules})
        _started = threading.Thread(target=_import_all, args=(modules,), name="regress-preload", daemon=True)
        _started.start()
    return _started


def require(module: str) -> None:
    """Wait until the thread is done with `module`; raise the error that stopped the thread on it or before.

    Returns at once when no thread was started or it does not import `module`: the caller's own
    import statement then does the work.
    """
    done = _done.get(module)
    if done is None:
        return
    done.wait()
    failure = _failed.get(module)
    if failure is not None:
        raise failure


def _import_all(modules: tuple[str, ...]) -> None:
    for index, name in enumerate(modules):
        try:
            importlib.import_module(name)
        except Exception as exc:  # raised by `require` in the stages that need this module or a later one
            for later in modules[index:]:
                _failed[later] = exc
                _done[later].set()
            return
        _done[name].set()
