"""A second process for the pipeline's pure-Python work: data validation and plots, beside the main one.

Great Expectations and matplotlib take 2 s to import and run on one core under Python's global
interpreter lock. A command that trains starts this process first (`start_side_process`): it
imports both on the second core while the main process imports torch and Prefect, then runs
what the stages hand it (`run_beside`, `submit_beside`) while the main process goes on. Without
it (a flow run by a Prefect worker, a test calling the CLI in-process, a one-core machine), or
once it has died, the same calls run in the calling process: the result is the same either way.

An exception raised in the side process is raised again in the caller, as itself where it can be
pickled. The side process ignores Ctrl-C (the main process decides what an interrupt stops) and
exits when the main one closes its end of the pipe, or is gone.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Future
from multiprocessing.connection import Connection
from typing import Any, TypeVar

T = TypeVar("T")

WARM_MODULES = ("great_expectations", "matplotlib.pyplot")


class SideProcess:
    """One helper process that runs one call at a time, sent through a pipe."""

    def __init__(self) -> None:
        # Forked while this process is still small and has one thread (the command has only parsed
        # its arguments): no interpreter to start, and no resource tracker to report the locks
        # that libraries create in the child and an exit without teardown leaves behind.
        context = multiprocessing.get_context("fork")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=serve, args=(child, self._conn), name="regress-side", daemon=True)
        self._process.start()
        child.close()
        self._lock = threading.Lock()
        self.alive = True

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`fn(*args, **kwargs)` in the side process; in this one if the side process is gone."""
        with self._lock:
            if self.alive:
                try:
                    self._conn.send((fn, args, kwargs))
                    status, value = self._conn.recv()
                except (EOFError, OSError):
                    self.alive = False  # killed (out of memory, a signal): the work is done here instead
                except BaseException:
                    self.alive = False  # interrupted between a call and its reply: the pipe is out of step
                    raise
                else:
                    if status == "error":
                        raise value
                    return value
        return fn(*args, **kwargs)

    def stop(self) -> None:
        """Close the pipe: the side process exits without Python's slow teardown."""
        with self._lock:
            self.alive = False
            self._conn.close()
        self._process.join(timeout=2)
        if self._process.is_alive():
            self._process.kill()


_current: SideProcess | None = None


def start_side_process() -> SideProcess | None:
    """Start the side process for this command, unless there is one or only one core to run it on."""
    global _current
    if _current is None and len(os.sched_getaffinity(0)) > 1:
        _current = SideProcess()
    return _current


def stop_side_process() -> None:
    global _current
    if _current is not None:
        _current.stop()
        _current = None


def run_beside(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`fn(*args, **kwargs)`, in the side process when one runs; the caller waits for it."""
    side = _current
    return side.call(fn, *args, **kwargs) if side is not None else fn(*args, **kwargs)


def submit_beside(fn: Callable[..., T], *args: Any, **kwargs: Any) -> Future[T]:
    """`fn(*args, **kwargs)` started in the side process while the caller goes on; run now without one."""
    future: Future[T] = Future()
    side = _current

    def work() -> None:
        try:
            future.set_result(side.call(fn, *args, **kwargs) if side is not None else fn(*args, **kwargs))
        except BaseException as exc:  # handed to whoever waits on the result
            future.set_exception(exc)

    if side is None:
        work()
    else:
        threading.Thread(target=work, name="regress-side-call", daemon=True).start()
    return future


def serve(conn: Connection, parent_end: Connection | None = None) -> None:
    """The side process: import the slow libraries, then run each call sent until the pipe closes.

    `parent_end`, the main process's end of the pipe as the fork copied it, is closed first, so
    that the main process closing its own end reaches this one as the end of the pipe.
    """
    if parent_end is not None:
        parent_end.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import importlib

    import matplotlib

    matplotlib.use("Agg")
    for name in WARM_MODULES:
        importlib.import_module(name)
    while True:
        try:
            fn, args, kwargs = conn.recv()
        except (EOFError, OSError):
            os._exit(0)
        try:
            reply: tuple[str, Any] = ("ok", fn(*args, **kwargs))
        except Exception as exc:
            reply = ("error", _portable(exc))
        try:
            conn.send(reply)
        except Exception as exc:  # a result that cannot be pickled
            conn.send(("error", RuntimeError(f"the side process could not return the result of {fn!r}: {exc}")))


def _portable(exc: Exception) -> Exception:
    """The exception itself if it survives pickling as itself, else a RuntimeError that says what it was."""
    try:
        copy = pickle.loads(pickle.dumps(exc))
    except Exception:
        copy = None
    if type(copy) is type(exc) and str(copy) == str(exc):
        return exc
    return RuntimeError(f"{type(exc).__name__}: {exc}")
