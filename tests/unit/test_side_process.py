"""The side process: calls run there and come back as they would here, errors included; without it, here."""

from __future__ import annotations

import os
import signal
import time

import pytest

from regress_core.errors import StorageError
from regress_core.pipeline import side_process
from regress_core.pipeline.side_process import (
    SideProcess,
    run_beside,
    start_side_process,
    stop_side_process,
    submit_beside,
)


def raise_storage_error(path: str) -> None:
    raise StorageError(f"cannot write {path}: the disk is full; free some space there", errno=28, path=path)


class Unpicklable(Exception):
    def __init__(self, message: str, *, extra: object) -> None:
        super().__init__(message)
        self.extra = extra

    def __reduce__(self):  # type: ignore[no-untyped-def]
        raise TypeError("not this one")


def raise_unpicklable() -> None:
    raise Unpicklable("a lock went missing", extra=object())


def slow_pid(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


@pytest.fixture
def side():
    started = start_side_process()
    assert started is not None, "the test machine has one core"
    yield started
    stop_side_process()


def test_without_a_side_process_calls_run_here():
    assert side_process._current is None
    assert run_beside(os.getpid) == os.getpid()
    assert submit_beside(os.getpid).result(timeout=0) == os.getpid()


def test_calls_run_in_the_side_process_and_return_their_result(side):
    pid = run_beside(os.getpid)
    assert pid != os.getpid()
    assert run_beside(divmod, 17, 5) == (3, 2)
    assert run_beside(os.getpid) == pid  # one process, warm, for every call


def test_a_submitted_call_runs_while_the_caller_goes_on(side):
    started = time.monotonic()
    future = submit_beside(slow_pid, 1.0)
    assert time.monotonic() - started < 0.5
    assert not future.done()
    assert future.result(timeout=30) != os.getpid()


def test_an_error_comes_back_as_itself_with_its_details(side):
    with pytest.raises(StorageError, match="the disk is full") as raised:
        run_beside(raise_storage_error, "/data/out.parquet")
    assert (raised.value.errno, raised.value.filename) == (28, "/data/out.parquet")
    assert isinstance(raised.value, OSError)
    assert run_beside(divmod, 7, 2) == (3, 1)  # and the side process carries on


def test_an_error_that_cannot_travel_is_named_in_a_runtime_error(side):
    with pytest.raises(RuntimeError, match="Unpicklable: a lock went missing"):
        run_beside(raise_unpicklable)


def test_a_killed_side_process_leaves_the_work_to_this_one(side):
    pid = run_beside(os.getpid)
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    assert run_beside(os.getpid) == os.getpid()
    assert side.alive is False
    assert submit_beside(os.getpid).result(timeout=10) == os.getpid()


def test_ctrl_c_is_left_to_the_main_process(side):
    pid = run_beside(os.getpid)
    os.kill(pid, signal.SIGINT)
    time.sleep(0.2)
    assert run_beside(os.getpid) == pid


def test_stop_ends_the_side_process_at_once():
    side = SideProcess()
    process = side._process
    assert side.call(divmod, 9, 4) == (2, 1)
    started = time.monotonic()
    side.stop()
    assert time.monotonic() - started < 1.5
    assert process.exitcode == 0  # it left on the closed pipe, not by being killed
