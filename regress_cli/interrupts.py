"""Ctrl-C and SIGTERM: one exception for both, finding it where a library turned it into another
error, and remembering it where a library swallowed it."""

from __future__ import annotations

import signal
from types import FrameType

# Signals received by this process's handlers, in order. Prefect's flow engine drops a
# KeyboardInterrupt that lands after a flow's own code has finished (while it records the final
# state), so a command that runs one flow after another checks here between them.
RECEIVED: list[int] = []


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, so it unwinds like Ctrl-C: temporary files and servers go."""


def raise_terminated(signum: int, frame: FrameType | None) -> None:
    RECEIVED.append(signum)
    raise Terminated()


def raise_interrupted(signum: int, frame: FrameType | None) -> None:
    """Ctrl-C as Python's own handler treats it, and remembered."""
    RECEIVED.append(signum)
    raise KeyboardInterrupt()


def raise_if_received() -> None:
    """Raise the Ctrl-C or SIGTERM this process received, if one was received and swallowed on the way.

    Call it only where no interrupt is being handled: between flows of a command.
    """
    if RECEIVED:
        raise Terminated() if RECEIVED[-1] == signal.SIGTERM else KeyboardInterrupt()


def interruption(exc: BaseException | None) -> KeyboardInterrupt | None:
    """The Ctrl-C or SIGTERM behind `exc`: itself, or one it was raised while handling.

    A Ctrl-C that lands inside Prefect's engine as it creates a task run is handled there, and the
    handler can fail with an error of its own ("Task run is not set") whose context is the interrupt.
    """
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None
