"""Benchmark of `dbt build` over Thrift: cold (first build after a Thrift server start) and warm,
plus each model's own duration read from dbt's run_results.json.

Runs on a throwaway stack (own folder and ports): the indicators are ingested from the API
stand-in and registered in bronze once, then `dbt build` is timed.
"""

from __future__ import annotations

import atexit
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from bench.runner import Benchmark, Samples
from bench.stack_benchmarks import RUNS, _provisioned
from lakehouse import stack
from lakehouse.bceao_api import ingest_from_bceao
from lakehouse.dbt_runner import DBT_DIR, dbt_command

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
    ingest_from_bceao(settings, ["indicateurs_economiques_uemoa"], out=lambda _: None)
    run_register(settings, ["indicateurs_economiques_uemoa"], out=lambda _: None)
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


BENCHMARKS = [
    Benchmark(
        "dbt_build",
        "dbt build de silver et gold sur Thrift (480 trimestres), à froid et à chaud, et par modèle",
        dbt_build,
    ),
]
