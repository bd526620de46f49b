"""Named fault points, for the fault suite (`tests/faults/`) only: crash the process at a precise moment.

`LAKEHOUSE_FAULT=kill:<point>` makes `fault_point("<point>")` kill its own process with SIGKILL, as
`kill -9` would (no `finally`, no cleanup: what a crash leaves is left); `raise:<point>` raises
`SimulatedCrash` instead, for tests that call a job in their own process; `pause:<point>:<seconds>` makes
it wait there, so that a test can make two processes meet at their worst moment (both have read the
ledger, neither has committed). Without the variable a fault point does nothing. The points are named
where they are placed (`grep -rn fault_point`).
"""

from __future__ import annotations

import os
import signal
import time

FAULT_VARIABLE = "LAKEHOUSE_FAULT"


class SimulatedCrash(RuntimeError):
    """Raised at a fault point by `LAKEHOUSE_FAULT=raise:<point>`."""


def fault_point(point: str) -> None:
    action, _, where = os.environ.get(FAULT_VARIABLE, "").partition(":")
    where, _, argument = where.partition(":")
    if where != point:
        return
    if action == "pause":
        print(f"[faute] pause de {float(argument or 5):.0f} s au point {point}", flush=True)
        time.sleep(float(argument or 5))
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if action == "raise":
        raise SimulatedCrash(f"arrêt simulé au point {point} ({FAULT_VARIABLE})")
