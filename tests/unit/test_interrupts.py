"""A Ctrl-C or SIGTERM stops the command cleanly, also when a library turned it into another error on the way."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from regress_cli import main as cli
from regress_cli.commands import backfill
from regress_cli.interrupts import Terminated, interruption
from regress_core.config import build_config
from regress_core.pipeline.backfill import BackfillRow


def prefect_crash_handler_error(interrupt: KeyboardInterrupt) -> ValueError:
    """What Prefect 3.8 raises when a Ctrl-C lands as it creates a task run: its own error, the interrupt as context."""
    try:
        try:
            raise interrupt
        except KeyboardInterrupt:
            raise ValueError("Task run is not set")  # noqa: B904 - raised inside the handler, as Prefect does
    except ValueError as error:
        return error


def test_the_interrupt_is_found_itself_or_behind_the_error_it_became():
    ctrl_c = KeyboardInterrupt()
    assert interruption(ctrl_c) is ctrl_c
    assert interruption(prefect_crash_handler_error(ctrl_c)) is ctrl_c
    assert interruption(ValueError("a plain error")) is None


def test_an_error_whose_context_loops_is_not_an_interrupt():
    first, second = ValueError("first"), ValueError("second")
    first.__context__, second.__context__ = second, first
    assert interruption(first) is None


@pytest.mark.parametrize(
    ("interrupt", "code", "message"),
    [(KeyboardInterrupt(), 130, "regress: interrupted"), (Terminated(), 143, "regress: terminated by SIGTERM")],
)
def test_a_command_stopped_inside_prefect_exits_as_interrupted(monkeypatch, capsys, tmp_path, interrupt, code, message):
    def stopped(args):
        raise prefect_crash_handler_error(interrupt)

    monkeypatch.setitem(cli.COMMANDS, "data", stopped)
    assert cli.main(["data", "simulate", "--to", str(tmp_path / "days"), "--home", str(tmp_path / "home")]) == code
    assert capsys.readouterr().err.strip() == message


def test_a_backfill_stopped_inside_prefect_still_prints_its_table(monkeypatch, capsys, tmp_path):
    dates = [datetime(2026, 11, day, tzinfo=UTC) for day in (20, 21, 22)]

    def train_date(config, as_of):
        if as_of == dates[0]:
            return BackfillRow(as_of, 300, "v0001", "promoted"), None
        raise prefect_crash_handler_error(KeyboardInterrupt())

    monkeypatch.setattr(backfill, "train_date", train_date)
    config = build_config(values={"registry": {"home": str(tmp_path)}})
    with pytest.raises(KeyboardInterrupt):
        backfill.train_dates(config, dates)
    out = capsys.readouterr().out
    assert "2026-11-20 00:00     300  v0001    promoted" in out
    assert "stopped with 2 dates left; run the same command again to carry on" in out


def test_a_ctrl_c_that_prefect_dropped_as_a_flow_ended_stops_the_backfill_before_the_next_date(
    monkeypatch, capsys, tmp_path
):
    """Prefect's flow engine drops a KeyboardInterrupt raised after a flow's code finished; the handler remembers it."""
    import os
    import signal
    import time

    from regress_cli.interrupts import RECEIVED, raise_interrupted

    dates = [datetime(2026, 11, day, tzinfo=UTC) for day in (20, 21, 22)]
    trained = []

    def train_date(config, as_of):
        try:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C as the flow run ends ...
            time.sleep(1)  # the handler raises here at the latest
        except KeyboardInterrupt:
            pass  # ... and dropped, as Prefect's engine drops it
        trained.append(as_of)
        return BackfillRow(as_of, 300, f"v000{len(trained)}", "promoted"), None

    monkeypatch.setattr(backfill, "train_date", train_date)
    previous = signal.signal(signal.SIGINT, raise_interrupted)
    RECEIVED.clear()
    try:
        config = build_config(values={"registry": {"home": str(tmp_path)}})
        with pytest.raises(KeyboardInterrupt):
            backfill.train_dates(config, dates)
    finally:
        signal.signal(signal.SIGINT, previous)
        RECEIVED.clear()
    assert trained == dates[:1]
    out = capsys.readouterr().out
    assert "2026-11-20 00:00     300  v0001    promoted" in out
    assert "stopped with 2 dates left; run the same command again to carry on" in out
