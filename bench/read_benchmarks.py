"""Benchmark `read_gold`: the three analyst queries of `lakehouse.fast_read.ANALYST_QUERIES` (a point
lookup by country-quarter, a year filter, a union-wide aggregate) on the sample data's gold tables,

- through the Thrift server (PyHive, one connection kept open, as a BI tool would),
- through a Spark session already started (`spark.sql(...).toPandas()`),
- through the fast path (pyiceberg + DuckDB, one `Lake` kept, in the same process), three ways:
  repeated, when the scan of an unchanged snapshot comes from the `Lake`'s cache; data read again at
  every query, only the snapshot's file list kept (what the Thrift server does too: its catalog keeps
  the table, each query reads the files); and nothing kept (every query plans and reads its files
  again, as the first query on a new snapshot does),

plus `make sql` from a new process: with its fast read server already warm (Python start, the CLI, an
HTTP round trip and the query), and the first call, which starts that server. Goal: the fast path at least
5 times faster than Thrift on every query, and under 300 ms each (checked on the first two ways; the
third is printed beside them).

Runs on a throwaway stack: the sample is landed, registered and built (`dbt build`, target prod) once.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.runner import Benchmark, Samples
from bench.stack_benchmarks import _timed, provisioned_env_file, subprocess_env
from lakehouse import stack
from lakehouse.core.clients import hive_connection
from lakehouse.core.settings import PROJECT_ROOT
from lakehouse.dbt_runner import dbt_build
from lakehouse.fast_read import ANALYST_QUERIES, Lake

PORT_BASE = 22650
READS = int(os.environ.get("BENCH_READS", "9"))
MODES = (
    "Thrift (PyHive)",
    "session Spark",
    "lecture rapide",
    "lecture rapide, données relues",
    "lecture rapide, tout relu",
)


def _timed_runs(action, runs: int) -> list[float]:
    action()  # warm-up: first plans, first connections, caches of each path
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return timings


def _thrift_reader(settings):
    connection = hive_connection(settings)
    cursor = connection.cursor()

    def read(sql: str) -> list:
        cursor.execute(sql)
        return cursor.fetchall()

    return connection, read


def read_gold() -> Samples:
    from bench.quality_benchmarks import _land
    from lakehouse_spark.session import get_spark

    folder = Path(tempfile.mkdtemp(prefix="bench-read-"))
    base, env_file = provisioned_env_file(folder, PORT_BASE)
    samples: Samples = {}
    try:
        stack.up(base, progress=lambda _: None)
        settings, _ = _land(base, 20_000)
        dbt_build(settings)
        connection, thrift = _thrift_reader(settings)
        spark = get_spark("bench-read", settings)
        lake, reread, cold = Lake(settings), Lake(settings, cache_scans=0), Lake(settings, cache_scans=0, cache_plans=0)
        for name, sql in ANALYST_QUERIES.items():
            counts = {len(thrift(sql)), len(spark.sql(sql).toPandas()), len(lake.sql(sql))}
            if len(counts) != 1:
                raise RuntimeError(f"{name} : les trois chemins ne donnent pas le même nombre de lignes ({counts})")
            samples[f"{name} : {MODES[0]}"] = _timed_runs(lambda sql=sql: thrift(sql), READS)
            samples[f"{name} : {MODES[1]}"] = _timed_runs(lambda sql=sql: spark.sql(sql).toPandas(), READS)
            samples[f"{name} : {MODES[2]}"] = _timed_runs(lambda sql=sql: lake.sql(sql), READS)
            samples[f"{name} : {MODES[3]}"] = _timed_runs(lambda sql=sql: reread.sql(sql), READS)
            samples[f"{name} : {MODES[4]}"] = _timed_runs(lambda sql=sql: cold.sql(sql), READS)
        connection.close()
        env = subprocess_env(
            env_file,
            LAKEHOUSE_BRONZE_NAMESPACE=settings.get("BRONZE_NAMESPACE"),
            LAKEHOUSE_LANDING_BUCKET=settings.landing_bucket,
        )
        command = [sys.executable, "-m", "lakehouse", "sql", ANALYST_QUERIES["filtre sur une année"]]

        def cli() -> None:
            subprocess.run(command, cwd=PROJECT_ROOT, env=env, check=True, capture_output=True)

        samples["make sql, serveur chaud (filtre sur une année)"] = _timed_runs(cli, READS)
        first_calls = []
        for _ in range(3):
            stack.down(settings, ["sql"], progress=lambda _: None)
            first_calls.append(_timed(cli))
        samples["make sql, premier appel (démarre le serveur)"] = first_calls
    finally:
        stack.down(base, progress=lambda _: None)
        shutil.rmtree(folder, ignore_errors=True)
    return samples


def read_ratios(samples: Samples) -> dict[str, float]:
    """Per query and fast-path mode: median in ms and how many times faster than Thrift; Spark / fast."""
    derived = {}
    for name in ANALYST_QUERIES:
        thrift, spark = (statistics.median(samples[f"{name} : {mode}"]) for mode in MODES[:2])
        for mode, goal in ((MODES[2], True), (MODES[3], True), (MODES[4], False)):
            fast = statistics.median(samples[f"{name} : {mode}"])
            target = (" — objectif < 300", " — objectif ≥ 5") if goal else ("", "")
            derived[f"{name} : {mode} (ms){target[0]}"] = round(fast * 1000, 1)
            derived[f"{name} : Thrift / {mode}{target[1]}"] = round(thrift / fast, 1)
        derived[f"{name} : Spark / lecture rapide"] = round(
            spark / statistics.median(samples[f"{name} : {MODES[2]}"]), 1
        )
    return derived


BENCHMARKS = [
    Benchmark(
        "read_gold",
        "trois requêtes d'analyste sur l'or : Thrift (PyHive), session Spark, lecture rapide pyiceberg + DuckDB ; "
        "et make sql depuis un processus neuf",
        read_gold,
        derive=read_ratios,
    ),
]
