"""The machine's speed at the time of a measure: the CPU time of a fixed single-threaded Python loop.

Machines change speed from one moment to the next: on the development machine, on 6 December, a no-op
`make run` took 12.7 s in the morning and 6.1 s in the afternoon, and the test suite on a fresh clone 35 min
37 s in the morning and 21 min 39 s in the afternoon, for nearly the same code. Benchmarks record this
reference with their medians (`bench/runner.py`) and `make test` prints it at its start and end
(`tests/conftest.py`): compare two measures only when their references are close. Close references are not
enough: the loop stays in the CPU's cache, and does not see what slows memory-heavy work (on 6 December evening,
the same code took 22 min 18 s then 29 min 17 s, both runs at 0.56 s).
"""

from __future__ import annotations

import statistics
import time

from lakehouse.core.numbers import number

REFERENCE_LOOP = 20_000_000  # additions of the loop: about 0.5 s of one core with the .venv Python here


def machine_reference(repeats: int = 3, loop: int = REFERENCE_LOOP) -> float:
    """CPU seconds of the fixed loop, median of `repeats` (higher = slower machine)."""

    def once() -> float:
        started = time.process_time()
        total = 0
        for addend in range(loop):
            total += addend
        return time.process_time() - started

    return statistics.median(once() for _ in range(repeats))


MEANING = "(CPU d'une boucle Python fixe ; plus haut = machine plus lente)"


def reference_line(seconds: float) -> str:
    return f"référence de la machine : {number(seconds, 2)} s {MEANING}"
