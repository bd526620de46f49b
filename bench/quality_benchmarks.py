"""Benchmark `quality_gate`: what Write-Audit-Publish adds to `make run` — the same first build of
silver and gold timed directly on main (`dbt build`, target prod) and audited (branches, dbt build on
the branch, Great Expectations suites, publication), on the sample data and on 1,000,000 events.

Runs on a throwaway stack: the three streams are landed and registered once per dataset, then each
run drops silver and gold so that both modes do a first build of the same data, and the Thrift server
is restarted before each build, with the default 2 GB heap of conf/lakehouse.env.example (same
conditions for both; each closed Thrift session leaks ~2 MB in Iceberg 1.10.2, see spark/README.md).
The share of the run is the added time over a whole first `make run` with audit (landing,
registration, audited build, maintenance).
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from bench.runner import Benchmark, Samples
from bench.stack_benchmarks import RUNS, _provisioned, user_memory
from lakehouse import publication, stack
from lakehouse.core.clients import iceberg_catalog
from lakehouse.dbt_runner import dbt_build
from lakehouse_dev.api_server import ApiState, start_api_server
from lakehouse_ingestion.ingest import run_ingest
from lakehouse_ingestion.lake_store import LakeStore

LARGE_EVENTS = int(os.environ.get("BENCH_QUALITY_EVENTS", "1000000"))
# BENCH_QUALITY_EVENTS=0: the sample only.
DATASETS = {"échantillon (20 000 événements)": 20_000} | (
    {f"{LARGE_EVENTS:,} événements": LARGE_EVENTS} if LARGE_EVENTS else {}
)


def _timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _drop_built_tables(settings) -> None:
    catalog = iceberg_catalog(settings)
    for identifier, _ in list(publication.audited_tables(settings)):
        catalog.purge_table(tuple(identifier.split(".")))


def _fresh_start(settings) -> None:
    _drop_built_tables(settings)
    stack.down(settings, ["thrift"], progress=lambda _: None)
    stack.up(settings, ["thrift"], progress=lambda _: None)


def _land(base, events: int):
    from lakehouse_spark.bronze_job import run_register

    suffix = uuid.uuid4().hex[:8]
    settings = base.with_values(
        LAKEHOUSE_LANDING_BUCKET=f"bench-{suffix}",
        LAKEHOUSE_BRONZE_NAMESPACE=f"bronze_{suffix}",
        LAKEHOUSE_INGEST_PAGE_SIZE="10000",
    )
    LakeStore(settings).s3.create_bucket(Bucket=settings.landing_bucket)
    iceberg_catalog(settings).create_namespace_if_not_exists(settings.get("BRONZE_NAMESPACE"))
    state = ApiState(api_key=settings.get("BCEAO_API_KEY"), vintage=1, users=1000, events=events)
    with start_api_server(state) as api:
        landing = _timed(lambda: run_ingest(settings, api_url=api.url, out=lambda _: None))
    registration = _timed(lambda: run_register(settings, out=lambda _: None))
    return settings, landing + registration


def quality_gate() -> Samples:
    from lakehouse_spark.maintenance import JOBS, run_maintenance
    from lakehouse_spark.session import get_spark

    folder = Path(tempfile.mkdtemp(prefix="bench-quality-"))
    base = _provisioned(folder, **user_memory())
    samples: Samples = {}
    try:
        stack.up(base, progress=lambda _: None)
        for label, events in DATASETS.items():
            settings, landed = _land(base, events)
            samples[f"{label} : dépôt + enregistrement"] = [landed]
            direct, audited = [], []
            for _ in range(RUNS):
                _fresh_start(settings)
                direct.append(_timed(lambda settings=settings: dbt_build(settings)))
                _fresh_start(settings)
                audited.append(
                    _timed(lambda settings=settings: publication.audited_build(settings, out=lambda _: None))
                )
            samples[f"{label} : dbt build direct (sans audit)"] = direct
            samples[f"{label} : dbt build audité (branche, tests, GX, publication)"] = audited
            spark = get_spark("bench-quality", settings)
            samples[f"{label} : maintenance"] = [
                _timed(lambda s=settings, spark=spark: run_maintenance(spark, s, list(JOBS), out=lambda _: None))
            ]
    finally:
        stack.down(base, progress=lambda _: None)
        shutil.rmtree(folder, ignore_errors=True)
    return samples


def audit_share(samples: Samples) -> dict[str, float]:
    """Seconds the audit adds, and their share of a whole first run with audit (goal: ≤ 20 %)."""
    derived = {}
    for label in DATASETS:
        direct = statistics.median(samples[f"{label} : dbt build direct (sans audit)"])
        audited = statistics.median(samples[f"{label} : dbt build audité (branche, tests, GX, publication)"])
        run = samples[f"{label} : dépôt + enregistrement"][0] + audited + samples[f"{label} : maintenance"][0]
        derived[f"{label} : secondes ajoutées par l'audit"] = round(audited - direct, 2)
        derived[f"{label} : part du make run (%) — objectif ≤ 20"] = round(100 * (audited - direct) / run, 1)
    return derived


BENCHMARKS = [
    Benchmark(
        "quality_gate",
        "temps ajouté par Write-Audit-Publish (branches, tests sur la branche, suites GX, publication) "
        "au premier make run, sur l'échantillon et sur 1 000 000 d'événements",
        quality_gate,
        derive=audit_share,
    ),
]
