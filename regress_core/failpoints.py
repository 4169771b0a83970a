"""Named crash points for testing recovery: the process kills itself where a test asks.

Set REGRESS_FAILPOINT to a point's name (for example `publish:staged`) and the process
sends itself SIGKILL when it reaches that point, exactly as a crash or `kill -9` would.
Unset (always, in normal use), a failpoint costs one dictionary lookup.

Points: `train:epoch` (after the first validation check of a network), `publish:staged` (package fully
staged, not yet renamed into versions/), `publish:renamed` (version visible, not yet gated),
`gate:locked` (registry lock held, champion not yet switched), `gate:switched` (champion
pointer switched, audit history not yet appended).
"""

from __future__ import annotations

import os
import signal

ENV = "REGRESS_FAILPOINT"


def failpoint(name: str) -> None:
    """Kill this process with SIGKILL if REGRESS_FAILPOINT names this point."""
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
