"""Ctrl-C and SIGTERM: one exception for both, and finding it where a library turned it into another error."""

from __future__ import annotations

from types import FrameType


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, so it unwinds like Ctrl-C: temporary files and servers go."""


def raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


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
