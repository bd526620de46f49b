"""Benchmark of cost as work grows (issue 13): the events path — ingest → register → dbt
(`stg_users`, `stg_events`, `fct_events_enriched`) — at 10k, 100k, 1M and 10M events.

One throwaway stack; the API stand-in runs in this process with 1,000 users and N events. For each
size N (`BENCH_SCALE_SIZES`, comma-separated), a fresh landing bucket and bronze namespace, then each
stage runs once, as a user runs it, in its own process:

    python -m lakehouse ingest raw_users raw_events
    python -m lakehouse register raw_users raw_events
    dbt build --select +fct_events_enriched --indirect-selection cautious --full-refresh

Each stage is timed, and its peak resident memory sampled (`bench.memory`): its own processes (the
CLI, the connector processes, the Spark JVM of the registration, dbt), and the same plus the stack's
services (SeaweedFS, and the Thrift server where dbt's work runs). Reported: seconds, events/s and
both peaks per stage and size, so that the curve is visible. A stage whose own peak grows with N as fast as
the input does holds the input in memory; the goal is a flat curve. Each stage's output is kept in
`bench/results/scale_events-<size>-<stage>.log`; a stage that fails ends the benchmark with what was
measured so far.

dbt runs a test only when every node it reads is selected (`cautious`): the indicators are not loaded
here, so the tests that also read them cannot run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from bench.memory import PeakMemory
from bench.runner import RESULTS_DIR, Benchmark, Samples
from bench.stack_benchmarks import subprocess_env, user_stack
from lakehouse import stack
from lakehouse.core.clients import iceberg_catalog
from lakehouse.core.settings import PROJECT_ROOT
from lakehouse.dbt_runner import dbt_command
from lakehouse_ingestion.lake_store import LakeStore

SIZES = [int(size) for size in os.environ.get("BENCH_SCALE_SIZES", "10000,100000,1000000,10000000").split(",")]
USERS = 1000
PORT_BASE = 22750
STREAMS = ["raw_users", "raw_events"]
STAGES = ("ingest", "register", "dbt")
OWN, WITH_STACK = "pic RSS de l'étape (Go)", "pic RSS étape + pile (Go)"
FAILED = "en échec (1 = oui ; les tailles suivantes ne sont pas mesurées)"


def _stage_command(stage: str, settings) -> tuple[list[str], dict[str, str] | None, Path]:
    if stage == "dbt":
        return dbt_command(
            settings,
            ["build", "--select", "+fct_events_enriched", "--indirect-selection", "cautious", "--full-refresh"]
            + ["--no-use-colors", "--quiet"],
        )
    return [sys.executable, "-m", "lakehouse", stage, *STREAMS], None, PROJECT_ROOT


def _timed_stage(stage: str, settings, env: dict[str, str], log: Path) -> tuple[float, float, float] | None:
    """Seconds, own peak RSS (GB), peak RSS with the stack's services (GB) of one stage; None when it
    failed. Its whole output goes to `log`."""
    command, dbt_env, cwd = _stage_command(stage, settings)
    started = time.perf_counter()
    with PeakMemory() as own, PeakMemory(settings) as with_stack, log.open("w") as output:
        process = subprocess.Popen(command, cwd=cwd, env=dbt_env or env, stdout=output, stderr=subprocess.STDOUT)
        own.watch(process.pid)
        with_stack.watch(process.pid)
        process.wait()
    elapsed = time.perf_counter() - started
    return None if process.returncode != 0 else (elapsed, own.gigabytes, with_stack.gigabytes)


def _label(size: int, stage: str, measure: str = "") -> str:
    return f"{size:>10,} événements : {stage}{f', {measure}' if measure else ''}"


def scale_events() -> Samples:
    from lakehouse_dev.api_server import ApiState, start_api_server

    samples: Samples = {}
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    with user_stack("bench-scale-", PORT_BASE) as (base, env_file):
        stack.up(base, progress=lambda _: None)
        for size in SIZES:
            state = ApiState(api_key=base.get("BCEAO_API_KEY"), users=USERS, events=size)
            lake = {
                "LAKEHOUSE_LANDING_BUCKET": f"scale-{uuid.uuid4().hex[:8]}",
                "LAKEHOUSE_BRONZE_NAMESPACE": f"bronze_scale_{uuid.uuid4().hex[:8]}",
                "LAKEHOUSE_INGEST_PAGE_SIZE": "10000",
            }
            settings = base.with_values(**lake)
            LakeStore(settings).s3.create_bucket(Bucket=settings.landing_bucket)
            iceberg_catalog(settings).create_namespace(lake["LAKEHOUSE_BRONZE_NAMESPACE"])
            with start_api_server(state) as api:
                env = subprocess_env(env_file, LAKEHOUSE_BCEAO_API_URL=api.url, **lake)
                for stage in STAGES:
                    log = RESULTS_DIR / f"scale_events-{size}-{stage}.log"
                    measured = _timed_stage(stage, settings, env, log)
                    if measured is None:  # the larger sizes would fail too: what was measured is kept
                        samples[_label(size, stage, FAILED)] = [1.0]
                        print(f"   {_label(size, stage)} : ÉCHEC, journal de l'étape : {log}", flush=True)
                        return samples
                    seconds, own, with_stack = measured
                    samples[_label(size, stage)] = [seconds]
                    samples[_label(size, stage, OWN)] = [own]
                    samples[_label(size, stage, WITH_STACK)] = [with_stack]
                    print(
                        f"   {_label(size, stage)} : {seconds:.1f} s ({size / seconds:,.0f} événements/s), "
                        f"pic RSS {own:.2f} Go (avec la pile {with_stack:.2f} Go)",
                        flush=True,
                    )
    return samples


def curve(samples: Samples) -> dict[str, float]:
    """Per stage: the growth of time and of own peak memory from the smallest to the largest size measured."""
    figures = {}
    for stage in STAGES:
        measured = [size for size in SIZES if _label(size, stage) in samples]
        if len(measured) < 2:
            continue
        smallest, largest = min(measured), max(measured)
        figures[f"{stage} : durée {largest:,} / {smallest:,} (taille × {largest // smallest:,})"] = round(
            samples[_label(largest, stage)][0] / samples[_label(smallest, stage)][0], 1
        )
        figures[f"{stage} : pic RSS propre {largest:,} / {smallest:,}"] = round(
            samples[_label(largest, stage, OWN)][0] / samples[_label(smallest, stage, OWN)][0], 2
        )
    return figures


BENCHMARKS = [
    Benchmark(
        "scale_events",
        f"chemin des événements (ingest → register → stg_events → fct_events_enriched) à {', '.join(map(str, SIZES))} "
        "événements : durée et pic de mémoire de chaque étape",
        scale_events,
        derive=curve,
    ),
]
