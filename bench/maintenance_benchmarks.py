"""Benchmark of Iceberg compaction: 1,000 small data files rewritten by `rewrite_data_files`, next to
pyarrow alone reading the same files from S3 and writing them back as one file (the practical lower
bound of any rewrite). Reported: both medians, rows/s, MB/s of the compaction, and the ratio.

Each run builds a fresh table of SMALL_FILES files in one commit (not timed) on the throwaway stack
of the registration benchmarks; Spark session start is not included.
"""

from __future__ import annotations

import os
import statistics
import time
import uuid

import pyarrow.dataset as ds
import pyarrow.parquet as pq

from bench.register_benchmarks import _context
from bench.runner import Benchmark, Samples
from bench.stack_benchmarks import RUNS
from lakehouse.core.clients import s3_filesystem

SMALL_FILES = int(os.environ.get("BENCH_COMPACT_FILES", "1000"))
ROWS_PER_FILE = int(os.environ.get("BENCH_COMPACT_ROWS_PER_FILE", "200"))
ICEBERG = "compaction Iceberg (rewrite_data_files)"
PYARROW = "pyarrow : lecture S3 + réécriture en 1 fichier"
_BYTES: list[int] = []


def _small_files_table(spark, identifier: str) -> list[str]:
    data = spark.range(SMALL_FILES * ROWS_PER_FILE).selectExpr(
        "id",
        "concat('e', lpad(cast(id as string), 10, '0')) as event_id",
        "element_at(array('BEN','BFA','CIV','GNB','MLI','NER','SEN','TGO'), cast(id % 8 as int) + 1) as pays",
        "timestamp_seconds(1735689600 + id * 7) as occurred_at",
        "id * 0.25 as valeur",
    )
    spark.sql(
        f"CREATE TABLE {identifier} (id BIGINT, event_id STRING, pays "
        "STRING, occurred_at TIMESTAMP, valeur DOUBLE) USING iceberg"
    )
    data.repartition(SMALL_FILES).writeTo(identifier).append()
    return [row[0] for row in spark.sql(f"SELECT file_path FROM {identifier}.files").collect()]


def compaction() -> Samples:
    from lakehouse.core.maintenance_policy import load_policy
    from lakehouse_spark.maintenance import run_maintenance

    settings, spark = _context()
    policy = load_policy(settings.maintenance_policy_file)
    samples: Samples = {ICEBERG: [], PYARROW: []}
    namespace = f"bench_compact_{uuid.uuid4().hex[:8]}"
    spark.sql(f"CREATE NAMESPACE IF NOT EXISTS {settings.catalog_name}.{namespace}")
    s3 = s3_filesystem(settings)
    for run in range(RUNS):
        identifier = f"{namespace}.t{run}"
        paths = [p.split("://", 1)[1] for p in _small_files_table(spark, identifier)]
        assert len(paths) == SMALL_FILES, len(paths)
        _BYTES.append(sum(info.size for info in s3.get_file_info(paths)))

        started = time.perf_counter()
        table = ds.dataset(paths, filesystem=s3, format="parquet").to_table()
        pq.write_table(
            table, f"{settings.landing_bucket}/bench/pyarrow-{run}.parquet", filesystem=s3, compression="snappy"
        )
        samples[PYARROW].append(time.perf_counter() - started)
        assert table.num_rows == SMALL_FILES * ROWS_PER_FILE

        started = time.perf_counter()
        [report] = run_maintenance(spark, settings, ["compact"], table=identifier, policy=policy, out=lambda _: None)
        samples[ICEBERG].append(time.perf_counter() - started)
        assert report.before.data_files == SMALL_FILES and report.after.data_files == 1, report
    return samples


def derived(samples: Samples) -> dict[str, float]:
    iceberg, pyarrow = statistics.median(samples[ICEBERG]), statistics.median(samples[PYARROW])
    megabytes = statistics.median(_BYTES) / 1024 / 1024
    return {
        "Mo lus par run": megabytes,
        "compaction Mo/s": megabytes / iceberg,
        "compaction lignes/s": SMALL_FILES * ROWS_PER_FILE / iceberg,
        "pyarrow Mo/s": megabytes / pyarrow,
        "ratio compaction / pyarrow (durée)": iceberg / pyarrow,
        "vitesse compaction / pyarrow — objectif ≥ 0,5": pyarrow / iceberg,
    }


BENCHMARKS = [
    Benchmark(
        "compact_small_files",
        f"compaction de {SMALL_FILES} petits fichiers ({ROWS_PER_FILE} lignes chacun) contre pyarrow seul",
        compaction,
        items=SMALL_FILES * ROWS_PER_FILE,
        derive=derived,
    ),
]
