"""Child processes that end with the process that started them: a writer killed by `kill -9` leaves no
dbt, connector or other helper running on its own, still writing to the lake while the next run starts.

`die_with_parent` is given as `preexec_fn` to `subprocess`: it asks Linux (prctl PR_SET_PDEATHSIG) to
send SIGKILL to the child when its parent thread ends. Spark's JVM needs nothing: pyspark's gateway
exits by itself when the Python process that started it is gone (its standard input closes).
"""

from __future__ import annotations

import ctypes
import signal
import sys

PR_SET_PDEATHSIG = 1
# Loaded once here: after a fork, only the call itself runs in the child.
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def die_with_parent() -> None:
    """`preexec_fn`: the child is killed when the thread that started it ends (Linux; elsewhere nothing)."""
    if _LIBC is not None:
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
