"""Parsing, dispatch and the one-line error contract of the `regress` command."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable

from regress_cli.commands import backfill, contract, data, models, monitor, score, train, ui
from regress_cli.environment import prepare_environment
from regress_cli.interrupts import RECEIVED, Terminated, interruption, raise_interrupted, raise_terminated
from regress_core.errors import RegressError, storage_error
from regress_core.pipeline.side_process import start_side_process, stop_side_process
from regress_core.pipeline.workspace import check_home

EXIT_CODES = """exit codes:
  0  success (for train: the run completed, promoted or not)
  2  usage or configuration error
  3  data error (unreadable input or failed validation)
  4  runtime error (training diverged, registry problem, a full disk or a read-only folder,
     a Prefect API or other service that does not answer or refuses the client)
  1  unexpected error (run again with --debug for the traceback)
  130, 143  interrupted (Ctrl-C, SIGTERM)"""

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "train": train.run,
    "score": score.run,
    "models": models.run,
    "contract": contract.run,
    "ui": ui.run,
    "monitor": monitor.run,
    "backfill": backfill.run,
    "data": data.run,
}


def common_options() -> argparse.ArgumentParser:
    """Options every command accepts, before or after its name."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
    return common


def build_parser() -> argparse.ArgumentParser:
    common = common_options()
    parser = argparse.ArgumentParser(
        prog="regress",
        description="Tabular regression pipeline with PyTorch and Prefect.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for module in (train, backfill, models, score, monitor, ui, contract, data):
        module.register(commands, common)
    return parser


def use_storage_block() -> None:
    """Take object-storage credentials from the Prefect block named by $REGRESS_STORAGE_BLOCK, if set."""
    if os.environ.get("REGRESS_STORAGE_BLOCK"):
        from tasks.storage import apply_storage_block

        apply_storage_block()


# Commands that validate tables and draw plots: the side process does both beside the main one.
SIDE_PROCESS_COMMANDS = ("train", "backfill")


def wants_side_process(args: argparse.Namespace) -> bool:
    """Whether the command trains here: `backfill --deployment` only submits flow runs to a server."""
    return args.command in SIDE_PROCESS_COMMANDS and not getattr(args, "deployment", None)


def main(argv: list[str] | None = None, *, side_process: bool = False) -> int:
    """Run one command; `side_process` starts a helper process for the commands that use one (`run` does)."""
    prepare_environment()
    args = build_parser().parse_args(argv)
    debug = getattr(args, "debug", False)
    args.debug = debug
    RECEIVED.clear()
    previous = signal.signal(signal.SIGTERM, raise_terminated)
    previous_int = signal.signal(signal.SIGINT, raise_interrupted)
    try:
        if side_process and wants_side_process(args):
            start_side_process()  # first, so its imports overlap this process's
        if "home" in args:  # commands that use a workspace
            use_storage_block()
            check_home(args.home)
        return COMMANDS[args.command](args)
    except RegressError as exc:
        if debug:
            raise
        print(f"regress: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except Exception as exc:
        interrupt = interruption(exc)
        if interrupt is not None:
            return interrupted(interrupt)
        # A full disk or a read-only folder met where no write site named the file, or a 401/403 from
        # the Prefect API met past the first check (a block, the lock, a flow's client).
        from regress_cli.prefect_api import api_refusal

        error = storage_error(exc) if isinstance(exc, OSError) else api_refusal(exc)
        if error is None or debug:
            raise
        print(f"regress: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt as exc:
        return interrupted(exc)
    finally:
        stop_side_process()
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)


def interrupted(exc: KeyboardInterrupt) -> int:
    """Say how the run was stopped; exit 143 for SIGTERM, 130 for Ctrl-C, as a shell would."""
    if isinstance(exc, Terminated):
        print("regress: terminated by SIGTERM", file=sys.stderr)
        return 143
    print("regress: interrupted", file=sys.stderr)
    return 130


def run() -> None:
    """The `regress` command: `main`, then an exit that skips the interpreter's teardown.

    Once a command has returned, its files are written and closed and its servers stopped;
    what Python would still do is wait for other threads, run the exit handlers (Prefect's log
    and event workers send what they hold; logging flushes its handlers) and flush stdout and
    stderr, which happen here too, and then free every module's objects one by one, which
    takes over a second after a training run and changes nothing outside the process. An
    error that escapes `main` (a traceback under --debug) takes Python's usual way out.
    """
    import atexit
    import threading

    code = main(side_process=True)
    # What the interpreter does first at exit, in its order: threading's own exit callbacks (a
    # thread pool tells its workers to stop) and the join of every non-daemon thread; then the
    # exit handlers.
    getattr(threading, "_shutdown", lambda: None)()
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
