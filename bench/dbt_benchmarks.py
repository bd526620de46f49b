"""Benchmark of `dbt build` over Thrift: cold (first build after a Thrift server start) and warm,
plus each model's own duration read from dbt's run_results.json.

Runs on a throwaway stack (own folder and ports): every stream (indicators, users, events) is
ingested from the API stand-in and registered in bronze once, then `dbt build` is timed. Derived:
the median of the models' warm durations, against the goal of issue 13 (≤ 1.5 s per model).
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench.runner import Benchmark, Samples
from bench.stack_benchmarks import RUNS, _provisioned
from lakehouse import stack
from lakehouse.bceao_api import ingest_from_bceao
from lakehouse.dbt_runner import DBT_DIR, dbt_command
from lakehouse.services import service_named

PORT_BASE = 22700


def _prepared_stack():
    from lakehouse_spark.bronze_job import run_register

    folder = Path(tempfile.mkdtemp(prefix="bench-dbt-"))
    settings = _provisioned(folder)
    stack.up(settings, progress=lambda _: None)

    def cleanup() -> None:
        stack.down(settings, progress=lambda _: None)
        shutil.rmtree(folder, ignore_errors=True)

    atexit.register(cleanup)
    ingest_from_bceao(settings, None, out=lambda _: None)  # dbt build reads every source
    run_register(settings, None, out=lambda _: None)
    return settings


def _timed_build(settings) -> tuple[float, dict[str, float]]:
    command, env, cwd = dbt_command(settings, ["build", "--no-use-colors", "--quiet"])
    started = time.perf_counter()
    subprocess.run(command, env=env, cwd=cwd, check=True, capture_output=True)
    elapsed = time.perf_counter() - started
    results = json.loads((DBT_DIR / "target" / "run_results.json").read_text())["results"]
    per_model = {
        r["unique_id"].split(".")[-1]: r["execution_time"] for r in results if r["unique_id"].startswith("model.")
    }
    return elapsed, per_model


def dbt_build() -> Samples:
    settings = _prepared_stack()
    samples: Samples = {"dbt build à froid (serveur Thrift juste démarré)": [], "dbt build à chaud": []}
    per_model: dict[str, list[float]] = {}
    for _ in range(RUNS):
        stack.down(settings, ["thrift"], progress=lambda _: None)
        stack.up(settings, ["thrift"], progress=lambda _: None)
        cold, _ = _timed_build(settings)
        samples["dbt build à froid (serveur Thrift juste démarré)"].append(cold)
        warm, models = _timed_build(settings)
        samples["dbt build à chaud"].append(warm)
        for name, seconds in models.items():
            per_model.setdefault(f"modèle {name} (à chaud)", []).append(seconds)
    return {**samples, **dict(sorted(per_model.items()))}


def per_model_median(samples: Samples) -> dict[str, float]:
    """Median over the models of each model's median warm duration, and the slowest model."""
    models = {name: statistics.median(values) for name, values in samples.items() if name.startswith("modèle ")}
    slowest = max(models, key=models.get)
    return {
        "médiane par modèle à chaud (s) — objectif ≤ 1,5": round(statistics.median(models.values()), 2),
        f"modèle le plus lent à chaud (s) : {slowest.removeprefix('modèle ').removesuffix(' (à chaud)')}": round(
            models[slowest], 2
        ),
    }


COLLECTORS = ("g1", "parallel")


def _thrift_cpu_seconds(settings) -> float:
    """CPU seconds (user + system) the running Thrift server has used since it started."""
    pid = service_named("thrift").process(settings).pid()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def jvm_gc() -> Samples:
    """`dbt build` on a Thrift server started with each LAKEHOUSE_JVM_GC, cold then warm, the collectors
    taking turns in each round (a machine that slows down during the bench weighs on both); also the
    server's CPU seconds per build."""
    settings = _prepared_stack()
    samples: Samples = {}
    for _ in range(RUNS):
        for collector in COLLECTORS:
            server = settings.with_values(LAKEHOUSE_JVM_GC=collector)
            stack.down(server, ["thrift"], progress=lambda _: None)
            stack.up(server, ["thrift"], progress=lambda _: None)
            for moment in ("à froid", "à chaud"):
                cpu = _thrift_cpu_seconds(server)
                seconds, _ = _timed_build(server)
                samples.setdefault(f"{collector} : dbt build {moment}", []).append(seconds)
                cpu = _thrift_cpu_seconds(server) - cpu
                samples.setdefault(f"{collector} : CPU du serveur Thrift, build {moment} (s de CPU)", []).append(cpu)
    return samples


def parallel_against_g1(samples: Samples) -> dict[str, float]:
    """Ratios parallel / g1 of the medians (< 1: parallel takes less)."""
    ratios = {}
    for measure in ("dbt build à froid", "dbt build à chaud"):
        for kind, name in (
            ("durée", measure),
            ("CPU Thrift", measure.replace("dbt build", "CPU du serveur Thrift, build")),
        ):
            suffix = "" if kind == "durée" else " (s de CPU)"
            g1 = statistics.median(samples[f"g1 : {name}{suffix}"])
            parallel = statistics.median(samples[f"parallel : {name}{suffix}"])
            ratios[f"parallel / g1, {kind}, {measure.removeprefix('dbt build ')}"] = round(parallel / g1, 2)
    return ratios


BENCHMARKS = [
    Benchmark(
        "jvm_gc",
        "dbt build sur des serveurs Thrift démarrés avec G1 (tas serré) puis avec le collecteur parallel",
        jvm_gc,
        derive=parallel_against_g1,
    ),
    Benchmark(
        "dbt_build",
        "dbt build de silver et gold sur Thrift (480 trimestres), à froid et à chaud, et par modèle",
        dbt_build,
        derive=per_model_median,
    ),
]
