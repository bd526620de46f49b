"""Benchmarks of bronze registration: 1,000 small landed files, and one large file.

Each run lands the files in a fresh bucket (not timed), then times `register` (listing,
footer inspection, one Spark read and one Iceberg commit per table, ledger commit) into a
fresh bronze namespace, on a throwaway stack. Spark session start is not included.
"""

from __future__ import annotations

import atexit
import io
import os
import shutil
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from bench.runner import Benchmark, Samples
from bench.stack_benchmarks import RUNS, _provisioned
from lakehouse import stack
from lakehouse.core.clients import s3_client

SMALL_FILES = int(os.environ.get("BENCH_REGISTER_FILES", "1000"))
ROWS_PER_SMALL_FILE = 50
LARGE_FILE_ROWS = int(os.environ.get("BENCH_REGISTER_LARGE_ROWS", "2000000"))
PORT_BASE = 22600


def events_file(start: int, count: int) -> bytes:
    base = datetime(2024, 1, 1, tzinfo=UTC)
    table = pa.table(
        {
            "event_id": [f"e{i:010d}" for i in range(start, start + count)],
            "user_id": [f"u{i % 1000:07d}" for i in range(start, start + count)],
            "event_type": ["page_view"] * count,
            "page": [f"/indicateurs/CIV/{i % 7}" for i in range(start, start + count)],
            "occurred_at": pa.array(
                [base + timedelta(seconds=7 * i) for i in range(start, start + count)], pa.timestamp("us", tz="UTC")
            ),
        }
    )
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="snappy")
    return sink.getvalue()


_CONTEXT: dict = {}


def _context():
    """One throwaway stack and Spark session for both benchmarks (a JVM keeps its jars' paths)."""
    if not _CONTEXT:
        from lakehouse_spark.session import get_spark

        folder = Path(tempfile.mkdtemp(prefix="bench-register-"))
        base = _provisioned(folder)
        stack.up(base, ["seaweedfs"], progress=lambda _: None)

        def cleanup() -> None:
            stack.down(base, progress=lambda _: None)
            shutil.rmtree(folder, ignore_errors=True)

        atexit.register(cleanup)
        _CONTEXT.update(base=base, spark=get_spark("bench-register", base))
    return _CONTEXT["base"], _CONTEXT["spark"]


def _timed_registrations(bodies: list[bytes]) -> list[float]:
    base, spark = _context()
    return timed_registrations(base, spark, bodies)


def timed_registrations(base, spark, bodies: list[bytes]) -> list[float]:
    """RUNS registrations of `bodies` (raw_events files), each into a fresh bucket and bronze namespace."""
    from lakehouse_spark.register import register

    durations = []
    for _ in range(RUNS):
        suffix = uuid.uuid4().hex[:10]
        settings = base.with_values(
            LAKEHOUSE_LANDING_BUCKET=f"bench-{suffix}", LAKEHOUSE_BRONZE_NAMESPACE=f"bench_{suffix}"
        )
        s3 = s3_client(settings)
        s3.create_bucket(Bucket=settings.landing_bucket)
        for index, body in enumerate(bodies):
            s3.put_object(
                Bucket=settings.landing_bucket, Key=f"bronze/raw_events/2026_01_01_{index}_0.parquet", Body=body
            )
        spark.sql(f"CREATE NAMESPACE IF NOT EXISTS {settings.catalog_name}.bench_{suffix}")
        started = time.perf_counter()
        [result] = register(spark, settings, ["raw_events"], out=lambda _: None)
        durations.append(time.perf_counter() - started)
        assert result.files == len(bodies), result
    return durations


SMALL_FILES_MEASURE = f"{SMALL_FILES} fichiers × {ROWS_PER_SMALL_FILE} lignes (débit = fichiers/s)"


def register_small_files() -> Samples:
    bodies = [events_file(i * ROWS_PER_SMALL_FILE, ROWS_PER_SMALL_FILE) for i in range(SMALL_FILES)]
    return {SMALL_FILES_MEASURE: _timed_registrations(bodies)}


def small_files_against_goal(samples: Samples) -> dict[str, float]:
    return {
        "fichiers/s (médiane) — objectif ≥ 200": round(SMALL_FILES / statistics.median(samples[SMALL_FILES_MEASURE]))
    }


def register_large_file() -> Samples:
    return {
        f"1 fichier de {LARGE_FILE_ROWS:,} lignes (débit = lignes/s)": _timed_registrations(
            [events_file(0, LARGE_FILE_ROWS)]
        )
    }


BENCHMARKS = [
    Benchmark(
        "register_small_files",
        f"enregistrement bronze de {SMALL_FILES} petits fichiers en un commit",
        register_small_files,
        items=SMALL_FILES,
        derive=small_files_against_goal,
    ),
    Benchmark(
        "register_large_file",
        f"enregistrement bronze d'un fichier de {LARGE_FILE_ROWS:,} lignes",
        register_large_file,
        items=LARGE_FILE_ROWS,
    ),
]
