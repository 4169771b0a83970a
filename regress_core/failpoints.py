"""Named crash points for testing recovery: the process kills itself where a test asks.

Set REGRESS_FAILPOINT to a point's name (for example `publish:staged`) and the process
sends itself SIGKILL when it reaches that point, exactly as a crash or `kill -9` would.
Unset (always, in normal use), a failpoint costs one dictionary lookup.

Points: `train:epoch` (after the first validation check of a network), `publish:staged` (package fully
staged, not yet renamed into versions/), `publish:uploading` (object storage: after each file of a
version is uploaded, before its manifest), `publish:renamed` (version visible, not yet gated),
`gate:locked` (registry lock held, champion not yet switched), `promote:locked` (the same for a
manual promote or rollback), `score:writing` (the first batch of predictions written, the output
not complete). The steps of every champion switch (gate, promote, rollback): `switch:journaled`
(the switch journaled, the champion pointer not yet written), `switch:pointer-written` and
`gate:switched` (champion pointer switched, audit history not yet appended), `switch:appended`
(history appended, the journal not yet removed).

REGRESS_FAILPOINT_PAUSE=`name=seconds` makes the process wait there instead, so a test can
start a second run while the first holds, say, the promotion lock.
"""

from __future__ import annotations

import os
import signal
import time

ENV = "REGRESS_FAILPOINT"
PAUSE_ENV = "REGRESS_FAILPOINT_PAUSE"


def failpoint(name: str) -> None:
    """Kill this process with SIGKILL if REGRESS_FAILPOINT names this point; pause if REGRESS_FAILPOINT_PAUSE does."""
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
    pause, _, seconds = os.environ.get(PAUSE_ENV, "").partition("=")
    if pause == name:
        time.sleep(float(seconds or 1))
