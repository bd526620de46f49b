"""Benchmark of the Spark standalone cluster: the registration of 1,000,000 events in local mode (`local[2]`)
and on a cluster of 2 workers started on the same machine (`make cluster-up`).

Both modes register the same 20 landed files of 50,000 events into fresh buckets and bronze namespaces of
one throwaway stack, RUNS times each; Spark session start is not timed. On a 2-core machine the cluster
cannot be faster: the ratio shows what the cluster costs (tasks sent over RPC to executor JVMs, files
shipped to them), not a speed-up; on a cluster of several machines, the same jobs scale with the workers.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
from pathlib import Path

from bench.register_benchmarks import events_file, timed_registrations
from bench.runner import Benchmark, Samples
from bench.stack_benchmarks import _provisioned
from lakehouse import cluster, stack
from lakehouse.services.spark_cluster import master_url

EVENTS = int(os.environ.get("BENCH_CLUSTER_EVENTS", "1000000"))
FILES = 20
PORT_BASE = 22375
WORKERS = 2
LOCAL = f"local[2] : {EVENTS:,} événements en {FILES} fichiers"
ON_CLUSTER = f"cluster de {WORKERS} workers (même machine) : {EVENTS:,} événements en {FILES} fichiers"


def cluster_register() -> Samples:
    from lakehouse_spark.session import get_spark

    folder = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    base = _provisioned(folder, LAKEHOUSE_SPARK_WORKER_MEMORY="4g", LAKEHOUSE_SPARK_EXECUTOR_MEMORY="2g")
    on_cluster = base.with_values(LAKEHOUSE_SPARK_MASTER=master_url(base))
    per_file = EVENTS // FILES
    bodies = [events_file(index * per_file, per_file) for index in range(FILES)]
    samples: Samples = {}
    try:
        stack.up(base, ["seaweedfs"], progress=lambda _: None)
        cluster.up(on_cluster, WORKERS, progress=lambda _: None)
        for label, settings in ((LOCAL, base), (ON_CLUSTER, on_cluster)):
            spark = get_spark("bench-cluster-register", settings)
            try:
                samples[label] = timed_registrations(settings, spark, bodies)
            finally:
                spark.stop()
    finally:
        cluster.down(on_cluster, progress=lambda _: None)
        stack.down(base, progress=lambda _: None)
        shutil.rmtree(folder, ignore_errors=True)
    return samples


def cluster_against_local(samples: Samples) -> dict[str, float]:
    local, remote = statistics.median(samples[LOCAL]), statistics.median(samples[ON_CLUSTER])
    return {
        "cluster / local[2] (médianes ; > 1 = coût du cluster sur 2 cœurs, pas une accélération)": round(
            remote / local, 2
        ),
        "événements/s en local[2] (médiane)": round(EVENTS / local),
        "événements/s sur le cluster (médiane)": round(EVENTS / remote),
    }


BENCHMARKS = [
    Benchmark(
        "cluster_register",
        f"enregistrement de {EVENTS:,} événements : local[2] contre {WORKERS} workers sur la même machine",
        cluster_register,
        items=EVENTS,
        derive=cluster_against_local,
    )
]
