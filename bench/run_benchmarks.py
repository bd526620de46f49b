"""Benchmark `run_noop`: `make run` again with nothing new (issue 13: at most 15 s, and 0 new snapshots).

On a throwaway stack, `python -m lakehouse run` (what `make run` calls, Python start included) runs once
on the sample data from the API stand-in: stack, ingest, register, audited dbt build, maintenance. Then it
runs `RUNS` more times with nothing new. Each of these runs is timed as a whole and step by step (from
its own progress lines). The snapshots of every table of every namespace are listed before and after
each run. Derived: the median against the goal, and the number of new snapshots, which must be 0.
"""

from __future__ import annotations

import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.runner import Benchmark, Samples
from bench.stack_benchmarks import RUNS, provisioned_env_file, subprocess_env
from lakehouse import stack
from lakehouse.core.clients import iceberg_catalog
from lakehouse.core.settings import PROJECT_ROOT

PORT_BASE = 22450
STEP_LINE = re.compile(r"^\[\d+/\d+\] ([\w-]+): OK en ([\d.]+) s")
NEW_SNAPSHOTS = "nouveaux snapshots par exécution (un nombre, pas des secondes)"


def _every_snapshot(settings) -> set[tuple[str, int]]:
    catalog = iceberg_catalog(settings)
    return {
        (".".join(identifier), snapshot.snapshot_id)
        for (namespace,) in catalog.list_namespaces()
        for identifier in catalog.list_tables(namespace)
        for snapshot in catalog.load_table(identifier).snapshots()
    }


def _make_run(env: dict[str, str]) -> tuple[float, dict[str, float]]:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "lakehouse", "run"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"make run en échec :\n{result.stdout[-3000:]}{result.stderr[-2000:]}")
    steps = {m.group(1): float(m.group(2)) for m in map(STEP_LINE.match, result.stdout.splitlines()) if m}
    return elapsed, steps


def run_noop() -> Samples:
    folder = Path(tempfile.mkdtemp(prefix="bench-run-"))
    settings, env_file = provisioned_env_file(folder, PORT_BASE)
    env = subprocess_env(env_file)
    samples: Samples = {"premier make run (échantillon)": []}
    try:
        first, _ = _make_run(env)
        samples["premier make run (échantillon)"].append(first)
        new_snapshots = []
        for _ in range(RUNS):
            before = _every_snapshot(settings)
            elapsed, steps = _make_run(env)
            new_snapshots.append(len(_every_snapshot(settings) - before))
            samples.setdefault("make run sans rien de neuf", []).append(elapsed)
            for name, seconds in steps.items():
                samples.setdefault(f"  étape {name}", []).append(seconds)
        samples[NEW_SNAPSHOTS] = [float(n) for n in new_snapshots]
    finally:
        stack.down(settings, progress=lambda _: None)
        shutil.rmtree(folder, ignore_errors=True)
    return samples


def noop_against_goal(samples: Samples) -> dict[str, float]:
    noop = statistics.median(samples["make run sans rien de neuf"])
    return {
        "make run sans rien de neuf (s) — objectif ≤ 15": round(noop, 1),
        "premier make run / make run sans rien de neuf": round(
            statistics.median(samples["premier make run (échantillon)"]) / noop, 1
        ),
        "nouveaux snapshots au total (objectif 0)": sum(samples[NEW_SNAPSHOTS]),
    }


BENCHMARKS = [
    Benchmark(
        "run_noop",
        "make run relancé sans rien de neuf (Python compris), total et par étape, et snapshots créés",
        run_noop,
        derive=noop_against_goal,
    ),
]
