"""Child processes that end with the process that started them."""

from __future__ import annotations

import contextlib
import ctypes
import signal

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """In a child: receive SIGTERM when the parent process ends (Linux; elsewhere nothing)."""
    with contextlib.suppress(OSError, AttributeError):  # not Linux: the parent's own clean-up stops the child
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
