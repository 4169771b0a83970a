"""SIGTERM (Kubernetes, Prefect cancellation) and SIGKILL: one line, the right code, no server left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.helpers import FAST_ARGS, make_table

SLOW_TRAINING = ["--set=train.max_epochs=100000", "--set=train.patience=0"]


def children(pid: int) -> list[int]:
    """Processes whose parent is `pid`, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


class Command:
    """`regress ...` in a child process, its output collected as it comes."""

    def __init__(self, *args: str, home: str) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "REGRESS_HOME": home}
        env.pop("PREFECT_API_URL", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "regress_cli.main", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.out: list[str] = []
        self.err: list[str] = []
        for stream, sink in ((self.process.stdout, self.out), (self.process.stderr, self.err)):
            threading.Thread(target=lambda s=stream, k=sink: k.extend(iter(s.readline, "")), daemon=True).start()

    def wait_for(self, text: str, timeout_s: float = 240) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if any(text in line for line in self.out + self.err):
                return
            if self.process.poll() is not None:
                pytest.fail(f"exited {self.process.returncode} before {text!r}: {''.join(self.err)[-2000:]}")
            time.sleep(0.2)
        pytest.fail(f"no {text!r} within {timeout_s} s")

    def server(self) -> int:
        servers = [pid for pid in children(self.process.pid) if b"uvicorn" in Path(f"/proc/{pid}/cmdline").read_bytes()]
        assert len(servers) == 1, servers
        return servers[0]


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
