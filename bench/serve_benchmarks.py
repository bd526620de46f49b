"""Benchmark of the serving copy (`make serve`): gold and the silver dimension copied into PostgreSQL.

One throwaway stack with a user's Spark heaps and the API stand-in at BENCH_SERVE_EVENTS events (100,000 by
default: `gold.fct_events_enriched` then holds as many rows, the marts 480 each), built once by `make run`
(not timed); then its own local PostgreSQL server (Debian's package). Timed, RUNS times each, through
`lakehouse.serving.serve` as `make serve` runs it: a full copy (`FULL=1`: every table, each in its
transaction) and a copy with nothing new (each table's snapshot compared with the one already served).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

from bench.runner import Benchmark, Samples
from bench.stack_benchmarks import RUNS, subprocess_env, user_stack
from lakehouse import stack
from lakehouse.core.settings import PROJECT_ROOT

EVENTS = int(os.environ.get("BENCH_SERVE_EVENTS", "100000"))
PORT_BASE = 22425
FULL = "copie complète (FULL=1) de gold et silver.dim_uemoa_indicators"
NOTHING_NEW = "copie sans rien de neuf"
ROWS = "lignes copiées par copie complète (un nombre, pas des secondes)"


def serve_gold() -> Samples:
    from lakehouse.serving import serve

    samples: Samples = {FULL: [], NOTHING_NEW: [], ROWS: []}
    with user_stack("bench-serve-", PORT_BASE) as (settings, env_file):
        settings.state_dir.parent.chmod(0o755)  # run by root, the server runs as `postgres`: a way to its data
        env = subprocess_env(env_file, LAKEHOUSE_STANDIN_EVENTS=str(EVENTS), LAKEHOUSE_SERVE="false")
        built = subprocess.run(
            [sys.executable, "-m", "lakehouse", "run"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True
        )
        if built.returncode != 0:
            raise RuntimeError(f"make run en échec :\n{built.stdout[-3000:]}{built.stderr[-2000:]}")
        served = settings.with_values(LAKEHOUSE_POSTGRES_LOCAL="true")
        stack.up(served, ["postgres"], progress=lambda _: None)
        for _ in range(RUNS):
            started = time.perf_counter()
            results = serve(served, full=True, out=lambda _: None)
            samples[FULL].append(time.perf_counter() - started)
            samples[ROWS].append(float(sum(result.rows for result in results)))
        for _ in range(RUNS):
            started = time.perf_counter()
            results = serve(served, out=lambda _: None)
            samples[NOTHING_NEW].append(time.perf_counter() - started)
            assert all(result.status == "unchanged" for result in results), results
    return samples


def rows_per_second(samples: Samples) -> dict[str, float]:
    rows = statistics.median(samples[ROWS])
    return {
        "lignes/s d'une copie complète (médiane)": round(rows / statistics.median(samples[FULL])),
        "copie sans rien de neuf / copie complète (médianes)": round(
            statistics.median(samples[NOTHING_NEW]) / statistics.median(samples[FULL]), 3
        ),
    }


BENCHMARKS = [
    Benchmark(
        "serve_gold",
        f"copie de service dans PostgreSQL : complète et sans rien de neuf ({EVENTS:,} événements)",
        serve_gold,
        derive=rows_per_second,
    )
]
