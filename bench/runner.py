"""Run named benchmarks, keep the medians, write `bench/results/<name>.json` and a table.

A benchmark is a function returning `{measure: [seconds, ...]}` (several timed runs of a
whole stage); the runner reports median, min and max of each measure. Machines are noisy:
read medians and ratios, never a single run.

Machines also change speed from one day to the next: each result records the machine's reference
(`lakehouse_dev.machine`), taken before and after the benchmark. Compare two passes only when their
references are close.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lakehouse.core.numbers import number
from lakehouse.core.reporting import Reporter
from lakehouse_dev.machine import MEANING, machine_reference

RESULTS_DIR = Path(__file__).resolve().parent / "results"

Samples = dict[str, list[float]]


@dataclass(frozen=True)
class Benchmark:
    name: str
    description: str
    run: Callable[[], Samples]
    items: int = 0  # records processed per run, to report a throughput (items per second of the median)
    derive: Callable[[Samples], dict[str, float]] | None = None  # figures computed from the medians (ratios, MB/s)


def summarize(samples: Samples, items: int = 0) -> dict[str, dict[str, float | int]]:
    summary: dict[str, dict[str, float | int]] = {}
    for measure, values in samples.items():
        median = statistics.median(values)
        summary[measure] = {"median_s": median, "min_s": min(values), "max_s": max(values), "runs": len(values)}
        if items:
            summary[measure]["items_per_s"] = items / median
    return summary


def write_result(
    benchmark: Benchmark, samples: Samples, elapsed: float, reference: tuple[float, float] | None = None
) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{benchmark.name}.json"
    payload = {
        "benchmark": benchmark.name,
        "description": benchmark.description,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "elapsed_s": round(elapsed, 3),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "reference_s": {"before": reference[0], "after": reference[1]} if reference else None,
        },
        "items_per_run": benchmark.items or None,
        "measures": summarize(samples, benchmark.items),
        "derived": benchmark.derive(samples) if benchmark.derive else {},
        "samples_s": samples,
    }
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


def run_benchmarks(benchmarks: list[Benchmark], out: Reporter = print) -> int:
    rows = []
    for benchmark in benchmarks:
        out(f"== {benchmark.name}: {benchmark.description}")
        before = machine_reference()
        started = time.monotonic()
        samples = benchmark.run()
        elapsed = time.monotonic() - started
        reference = (before, machine_reference())
        path = write_result(benchmark, samples, elapsed, reference)
        before_s, after_s = number(reference[0], 2), number(reference[1], 2)
        out(f"   référence de la machine : {before_s} s avant, {after_s} s après {MEANING}")
        for measure, stats in summarize(samples, benchmark.items).items():
            rows.append((benchmark.name, measure, stats))
        for name, value in (benchmark.derive(samples) if benchmark.derive else {}).items():
            out(f"   {name} : {value:,.2f}")
        out(f"   -> {path}")
    out("")
    out(f"{'benchmark':<22} {'mesure':<46} {'médiane':>10} {'min':>10} {'max':>10} {'runs':>5} {'débit (/s)':>12}")
    for name, measure, stats in rows:
        rate = f"{stats['items_per_s']:>12,.0f}" if "items_per_s" in stats else f"{'':>12}"
        out(
            f"{name:<22} {measure:<46} {stats['median_s']:>9.3f}s {stats['min_s']:>9.3f}s {stats['max_s']:>9.3f}s "
            f"{stats['runs']:>5} {rate}"
        )
    return 0
