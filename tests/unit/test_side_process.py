"""The side process: calls run there and come back as they would here, errors included; without it, here."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from regress_core.data.contract import infer_contract
from regress_core.data.preprocessing import Preprocessor
from regress_core.data.preprocessor_io import load_preprocessor, save_preprocessor
from regress_core.errors import StorageError
from regress_core.pipeline import side_process
from regress_core.pipeline.side_process import (
    SideProcess,
    SideProcessStopped,
    cores_beside,
    run_beside,
    start_side_process,
    stop_side_process,
    submit_beside,
)
from tests.helpers import make_mixed_table
from tests.unit.test_dates import dated_table
from tests.unit.test_group_keys import panel
from tests.unit.test_target_encoding import cars, teams


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


def _imported(name: str) -> bool:
    return name in sys.modules


def matplotlib_backend() -> str:
    import matplotlib

    return str(matplotlib.get_backend()).lower()


WARMED: list[int] = []


def mark_warm() -> None:
    WARMED.append(os.getpid())


def warmed_in() -> list[int]:
    return WARMED


KEPT: list[object] = []


def keep_objects(count: int) -> None:
    KEPT.extend([index] for index in range(count))  # lists: objects the collector tracks


def save_there(preprocessor: Preprocessor, path: Path) -> tuple[Path, int]:
    return save_preprocessor(preprocessor, path), os.getpid()


def load_there(path: Path) -> tuple[Preprocessor, int]:
    return load_preprocessor(path), os.getpid()


def wait_for_warm_up() -> list[int]:
    """What `mark_warm` left in the side process, once it ran: calls go first, the warm-up between them."""
    deadline = time.monotonic() + 60
    while not (warmed := run_beside(warmed_in)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return warmed


GO_FILE = Path("unset")


def wait_for_go_file() -> None:
    deadline = time.monotonic() + 30
    while not GO_FILE.exists() and time.monotonic() < deadline:
        time.sleep(0.01)


def slow_pid(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


@pytest.fixture
def side(monkeypatch):
    # Without Great Expectations' import (2 s a test); test_stop_ends_the_side_process_at_once imports it.
    monkeypatch.setattr(side_process, "WARM_MODULES", ())
    started = start_side_process()
    if started is None:
        pytest.skip("one core: no side process is started")
    yield started
    stop_side_process()


def test_without_a_side_process_calls_run_here():
    assert side_process._current is None
    assert run_beside(os.getpid) == os.getpid()
    assert submit_beside(os.getpid).result(timeout=0) == os.getpid()


def test_the_main_process_leaves_one_core_to_a_running_side_process(side):
    assert cores_beside() == side_process._cores() - 1
    side.stop()
    assert cores_beside() == side_process._cores()
    stop_side_process()
    assert cores_beside() == side_process._cores()


def test_a_call_is_served_between_two_warm_up_steps_not_after_them(monkeypatch, tmp_path):
    """Validation needs Great Expectations alone: it does not wait for the plots' and skops' imports."""
    monkeypatch.setattr(sys.modules[__name__], "GO_FILE", tmp_path / "go")
    monkeypatch.setattr(side_process, "WARM_MODULES", (f"{__name__}:wait_for_go_file", f"{__name__}:mark_warm"))
    if start_side_process() is None:
        pytest.skip("one core: no side process is started")
    try:
        sent = submit_beside(warmed_in)  # waits in the pipe while the first step runs
        time.sleep(0.3)
        (tmp_path / "go").touch()
        assert sent.result(timeout=30) == []  # served before the second step
        assert wait_for_warm_up() == [run_beside(os.getpid)]  # which ran once nothing was waiting
    finally:
        stop_side_process()


def test_warm_up_imports_modules_calls_named_functions_and_freezes_what_they_left(monkeypatch):
    monkeypatch.setattr(side_process, "WARM_MODULES", ("json", f"{__name__}:mark_warm"))
    if start_side_process() is None:
        pytest.skip("one core: no side process is started")
    try:
        pid = run_beside(os.getpid)
        assert wait_for_warm_up() == [pid]
        assert WARMED == []  # called there, not here
        assert run_beside(_imported, "json")
        # What the warm-up and each call leave is frozen: a collection there skips the libraries.
        frozen = run_beside(gc.get_freeze_count)
        assert frozen > 0
        run_beside(keep_objects, 500)
        assert run_beside(gc.get_freeze_count) >= frozen + 500
    finally:
        stop_side_process()


@pytest.mark.parametrize(
    ("table", "target", "scaler"),
    [
        (make_mixed_table(200), "price", "quantile"),
        (make_mixed_table(200), "price", "standard"),
        (teams(), "y", "quantile"),  # target-encoded categories
        (cars(), "y", "quantile"),  # text features
        (dated_table(), "y", "quantile"),  # parts of dates
        (panel(), "lwage", "robust_clip"),  # a group key
    ],
    ids=["mixed", "mixed-standard", "many-categories", "text", "dates", "group-key"],
)
def test_a_preprocessor_written_and_read_beside_equals_one_written_and_read_here(side, tmp_path, table, target, scaler):
    # The file's bytes key the evaluation's cache and the package: they do not depend on where it was written.
    df = table
    fitted = Preprocessor(contract=infer_contract(df, target=target), scaler=scaler).fit(df)
    beside, writer = run_beside(save_there, fitted, tmp_path / "beside.skops")
    here = save_preprocessor(fitted, tmp_path / "here.skops")
    assert writer != os.getpid()
    assert beside.read_bytes() == here.read_bytes()
    loaded, reader = run_beside(load_there, beside)
    assert reader != os.getpid()
    np.testing.assert_array_equal(loaded.transform_features(df), load_preprocessor(here).transform_features(df))


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
    assert run_beside(os.getpid) != os.getpid()
    with pytest.raises(StorageError, match="the disk is full") as raised:
        run_beside(raise_storage_error, "/data/out.parquet")
    assert (raised.value.errno, raised.value.filename) == (28, "/data/out.parquet")
    assert isinstance(raised.value, OSError)
    assert run_beside(divmod, 7, 2) == (3, 1)  # and the side process carries on
    assert side.alive


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


def test_an_argument_that_cannot_travel_is_worked_on_here_and_the_side_process_kept(side):
    lock = threading.Lock()
    assert run_beside(lambda held: (os.getpid(), held.locked()), lock) == (os.getpid(), False)
    assert side.alive
    assert run_beside(os.getpid) != os.getpid()


def test_stopping_during_a_call_ends_the_side_process_and_the_waiting_call_at_once(side):
    pid = run_beside(os.getpid)
    waiting = submit_beside(slow_pid, 60)
    time.sleep(0.3)
    started = time.monotonic()
    stop_side_process()
    assert time.monotonic() - started < 3
    with pytest.raises(SideProcessStopped):
        waiting.result(timeout=5)
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]


def test_the_side_process_ends_with_the_main_process(tmp_path):
    script = tmp_path / "parent.py"
    script.write_text(
        "import os, sys\n"
        "from regress_core.pipeline import side_process\n"
        "side_process.WARM_MODULES = ()\n"
        "from regress_core.pipeline.side_process import run_beside, start_side_process\n"
        "start_side_process()\n"
        "print(run_beside(os.getpid), flush=True)\n"
        "os._exit(0)  # gone without stopping it, as after kill -9\n"
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=True)
    pid = int(done.stdout.strip())
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not Path(f"/proc/{pid}").exists()


def test_stop_ends_the_side_process_at_once(monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "svg")
    side = SideProcess()
    process = side._process
    assert side.call(divmod, 9, 4) == (2, 1)
    for name in ("great_expectations", "matplotlib.pyplot", "skops.io"):  # imported between calls
        deadline = time.monotonic() + 60
        while not side.call(_imported, name) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert side.call(_imported, name)
    assert side.call(matplotlib_backend) == "agg"  # files only, whatever MPLBACKEND said
    started = time.monotonic()
    side.stop()
    assert time.monotonic() - started < 1.5
    assert process.exitcode == 0  # it left on the closed pipe, not by being killed
