"""SIGTERM (Kubernetes, Prefect cancellation) and SIGKILL: one line, the right code, no server left behind."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.helpers import FAST_ARGS, Command, alive, children, make_table

SLOW_TRAINING = ["--set=train.max_epochs=100000", "--set=train.patience=0"]


def wait_gone(pid: int, timeout_s: float = 20) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and alive(pid):
        time.sleep(0.2)
    return not alive(pid)


@pytest.fixture
def slow_training(tmp_path, home):
    data = tmp_path / "table.csv"
    make_table(2000).to_csv(data, index=False)
    command = Command("train", "--data", str(data), "--target", "y", *FAST_ARGS, *SLOW_TRAINING, home=home)
    command.wait_for("epoch 3:")
    yield command
    if command.process.poll() is None:
        command.process.kill()


def test_sigterm_ends_training_with_one_line_and_no_server_left(slow_training, home):
    server = slow_training.server()
    slow_training.process.send_signal(signal.SIGTERM)
    assert slow_training.process.wait(timeout=60) == 143
    time.sleep(0.5)
    lines = [line.strip() for line in slow_training.err if line.startswith("regress:")]
    assert lines == ["regress: terminated by SIGTERM"]
    assert not any("Traceback" in line for line in slow_training.err)
    assert wait_gone(server)
    assert not list((Path(home) / "registry").rglob("versions"))


def test_sigkill_of_the_command_takes_its_temporary_server_with_it(slow_training):
    server = slow_training.server()
    slow_training.process.kill()
    slow_training.process.wait(timeout=30)
    assert wait_gone(server), "the temporary Prefect server outlived the killed command"


def test_sigterm_while_scoring_starts(tmp_path, home):
    rows = make_table(50).drop(columns="y")
    rows.to_csv(tmp_path / "rows.csv", index=False)
    output = tmp_path / "o.parquet"
    command = Command("score", "--input", str(tmp_path / "rows.csv"), "--output", str(output), home=home)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not children(command.process.pid):
        time.sleep(0.1)
    server = command.server()
    command.process.send_signal(signal.SIGTERM)
    assert command.process.wait(timeout=60) == 143
    assert wait_gone(server)
    assert [line.strip() for line in command.err if line.startswith("regress:")] == ["regress: terminated by SIGTERM"]
    assert not output.exists()
