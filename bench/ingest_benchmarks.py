"""Benchmark of the ingestion stage: raw_events through the Airbyte connector into S3.

Runs on a throwaway stack (own folder and ports) with the local API stand-in serving
`BENCH_INGEST_EVENTS` events (1,000,000 by default). Measures the whole stage (connector
read + typing + Parquet/Snappy + publication) and the connector alone (records read and
discarded), so the landing's own cost shows as a ratio.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from bench.runner import Benchmark, Samples
from bench.stack_benchmarks import RUNS, _provisioned
from lakehouse import stack
from lakehouse_dev.api_server import ApiState, start_api_server
from lakehouse_ingestion.connector import configured_catalog, connector_config, discover, run_connector
from lakehouse_ingestion.ingest import run_ingest
from lakehouse_ingestion.lake_store import LakeStore

EVENTS = int(os.environ.get("BENCH_INGEST_EVENTS", "1000000"))
PORT_BASE = 22500


def ingest_raw_events() -> Samples:
    samples: Samples = {
        f"raw_events {EVENTS:,} : connecteur + dépôt S3": [],
        f"raw_events {EVENTS:,} : connecteur seul": [],
    }
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as folder:
        base = _provisioned(Path(folder))
        stack.up(base, ["seaweedfs"], progress=lambda _: None)
        state = ApiState(api_key=base.get("BCEAO_API_KEY"), users=1000, events=EVENTS)
        try:
            with start_api_server(state) as api:
                for _ in range(RUNS):
                    bucket = f"bench-{uuid.uuid4().hex[:10]}"
                    settings = base.with_values(LAKEHOUSE_LANDING_BUCKET=bucket, LAKEHOUSE_INGEST_PAGE_SIZE="10000")
                    LakeStore(settings).s3.create_bucket(Bucket=bucket)
                    started = time.perf_counter()
                    [report] = run_ingest(settings, ["raw_events"], api_url=api.url, out=lambda _: None)
                    samples[f"raw_events {EVENTS:,} : connecteur + dépôt S3"].append(time.perf_counter() - started)
                    assert report.records_landed == EVENTS, report

                    config = connector_config(settings, api.url)
                    catalog = configured_catalog(discover(settings, config)["raw_events"])
                    started = time.perf_counter()
                    count = sum(
                        1 for m in run_connector(settings, "read", config, catalog) if m.get("type") == "RECORD"
                    )
                    samples[f"raw_events {EVENTS:,} : connecteur seul"].append(time.perf_counter() - started)
                    assert count == EVENTS
        finally:
            stack.down(base, progress=lambda _: None)
    return samples


def stage_against_goal(samples: Samples) -> dict[str, float]:
    stage = statistics.median(samples[f"raw_events {EVENTS:,} : connecteur + dépôt S3"])
    connector = statistics.median(samples[f"raw_events {EVENTS:,} : connecteur seul"])
    return {
        "événements/s de l'étape entière (médiane) — objectif ≥ 20 000": round(EVENTS / stage),
        "part du connecteur seul dans l'étape": round(connector / stage, 2),
    }


BENCHMARKS = [
    Benchmark(
        "ingest_raw_events",
        f"ingestion de {EVENTS:,} événements par le connecteur Airbyte",
        ingest_raw_events,
        items=EVENTS,
        derive=stage_against_goal,
    ),
]
