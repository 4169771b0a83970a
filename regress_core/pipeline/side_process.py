"""A second process for the pipeline's pure-Python work: data validation, plots, the preprocessor's file.

Great Expectations and matplotlib take 2 s to import, and skops (the preprocessor's file format)
0.6 s in a process that has already loaded torch and Prefect; all of it runs on one core under
Python's global interpreter lock. A command that trains starts this process first
(`start_side_process`): it imports them on the second core while the main process imports
Prefect and starts the flow run, and runs what the stages hand it (`run_beside`, `submit_beside`)
between those imports and after them, while the main process goes on. Without it (a flow run
by a Prefect worker, a test calling the CLI in-process, a one-core machine), or once it has died,
the same calls run in the calling process: the result is the same either way.

An exception raised in the side process is raised again in the caller, as itself where it can be
pickled. The side process ignores Ctrl-C (the main process decides what an interrupt stops) and
exits when the main one closes its end of the pipe, or is gone.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import pickle
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Future
from multiprocessing.connection import Connection
from multiprocessing.reduction import ForkingPickler as _ForkingPickler
from typing import Any, TypeVar

from regress_core.processes import die_with_parent

T = TypeVar("T")

# Imported by the side process as it starts, in this order: "module", or "module:function" to call
# a function of the module after importing it (skops is imported with regress's own trusted types).
WARM_MODULES = ("great_expectations", "matplotlib.pyplot", "regress_core.data.preprocessor_io:skops_io")


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
        self.stopping = False

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`fn(*args, **kwargs)` in the side process; in this one if the side process is gone.

        Raises:
            SideProcessStopped: if `stop` ended the side process while this call waited on it.
        """
        try:
            message = _ForkingPickler.dumps((fn, args, kwargs))
        except Exception:  # an argument that cannot travel: the work is done here, the side process kept
            return fn(*args, **kwargs)
        with self._lock:
            if self.alive:
                try:
                    self._conn.send_bytes(message)
                    status, value = self._conn.recv()
                except (EOFError, OSError) as exc:
                    self.alive = False  # killed (out of memory, a signal): the work is done here instead
                    if self.stopping:
                        raise SideProcessStopped("the command is stopping") from exc
                except BaseException:
                    self.alive = False  # interrupted between a call and its reply: the pipe is out of step
                    raise
                else:
                    if status == "error":
                        raise value
                    return value
        if self.stopping:
            raise SideProcessStopped("the command is stopping")
        return fn(*args, **kwargs)

    def stop(self) -> None:
        """End the side process: at once if a call is still running there, else by closing the pipe."""
        self.stopping = True
        if self._lock.acquire(timeout=0.1):
            try:
                self.alive = False
                self._conn.close()  # the side process reads the end of the pipe and leaves
            finally:
                self._lock.release()
            self._process.join(timeout=1)
        if self._process.is_alive():
            self._process.kill()  # a call still running there: the command that wanted it is ending
            self._process.join(timeout=1)


class SideProcessStopped(RuntimeError):
    """A call was still waiting on the side process when the command stopped it."""


_current: SideProcess | None = None


def start_side_process() -> SideProcess | None:
    """Start the side process for this command, unless there is one or only one core to run it on.

    A side process that cannot be started (no memory or processes left to fork) is none: the
    work runs in this process.
    """
    global _current
    if _current is None and _cores() > 1:
        try:
            _current = SideProcess()
        except OSError:
            _current = None
    return _current


def stop_side_process() -> None:
    global _current
    if _current is not None:
        _current.stop()
        _current = None


def cores_beside() -> int:
    """Cores this process has to itself while the side process works on one: all of them without it."""
    side = _current
    cores = _cores()
    return cores - 1 if side is not None and side.alive else cores


def _cores() -> int:
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


def run_beside(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`fn(*args, **kwargs)`, in the side process when one runs; the caller waits for it."""
    side = _current
    return side.call(fn, *args, **kwargs) if side is not None else fn(*args, **kwargs)


def submit_beside(fn: Callable[..., T], *args: Any, **kwargs: Any) -> Future[T]:
    """`fn(*args, **kwargs)` started in the side process while the caller goes on.

    Without a side process it runs now, in the caller: an interrupt stops it there and then.
    """
    future: Future[T] = Future()
    side = _current
    if side is None:
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:  # raised from `result()`, as the side process's errors are
            future.set_exception(exc)
        return future

    def work() -> None:
        try:
            future.set_result(side.call(fn, *args, **kwargs))
        except BaseException as exc:  # handed to whoever waits on the result
            future.set_exception(exc)

    threading.Thread(target=work, name="regress-side-call", daemon=True).start()
    return future


def serve(conn: Connection, parent_end: Connection | None = None) -> None:
    """The side process: import the slow libraries and run each call sent, until the pipe closes.

    `parent_end`, the main process's end of the pipe as the fork copied it, is closed first, so
    that the main process closing its own end reaches this one as the end of the pipe. The side
    process also ends with the main process, and never outlives a reader of its reply.
    """
    if parent_end is not None:
        parent_end.close()
    die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the main process decides
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the main process's handler, copied by the fork
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    os.environ["MPLBACKEND"] = "Agg"  # files only; matplotlib is imported after Great Expectations
    import importlib

    warm = list(WARM_MODULES)
    while True:
        # A call that arrives while the libraries are imported is served between two of them:
        # validation needs Great Expectations alone, and the main process waits for it.
        while warm and not conn.poll():
            name, _, function = warm.pop(0).partition(":")
            module = importlib.import_module(name)
            if function:
                getattr(module, function)()
            if not warm:
                gc.collect()  # the imports' garbage goes first: what is frozen is never collected
                gc.freeze()
        try:
            fn, args, kwargs = conn.recv()
        except (EOFError, OSError):
            os._exit(0)
        try:
            reply: tuple[str, Any] = ("ok", fn(*args, **kwargs))
        except Exception as exc:
            reply = ("error", _portable(exc))
        _send(conn, reply, fn)
        # The table and the result are not kept while the main process trains. What survives the
        # collection is frozen, so that the next one looks at that call's objects alone: a full
        # collection over the imported libraries takes 0.1 s of a core the main process may want.
        del fn, args, kwargs, reply
        gc.collect()
        gc.freeze()


def _send(conn: Connection, reply: tuple[str, Any], fn: Any) -> None:
    try:
        message = _ForkingPickler.dumps(reply)
    except Exception as exc:  # a result that cannot be pickled
        message = _ForkingPickler.dumps(
            ("error", RuntimeError(f"the side process could not return the result of {fn!r}: {exc}"))
        )
    try:
        conn.send_bytes(message)
    except OSError:  # nobody reads the reply any more: the main process stopped or is gone
        os._exit(0)


def _portable(exc: Exception) -> Exception:
    """The exception itself if it survives pickling as itself, else a RuntimeError that says what it was."""
    try:
        copy = pickle.loads(pickle.dumps(exc))
    except Exception:
        copy = None
    if type(copy) is type(exc) and str(copy) == str(exc):
        return exc
    return RuntimeError(f"{type(exc).__name__}: {exc}")
