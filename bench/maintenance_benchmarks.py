"""Benchmark of Iceberg compaction: 1,000 small data files rewritten by `rewrite_data_files`, next to
pyarrow alone reading the same files from S3 and writing them back as one file (the practical lower
bound of any rewrite). Reported: the medians, rows/s, MB/s of the compaction, and the ratio.

The compaction runs twice per run, on two identical tables: through the stack's FileIO (the whole-file
read path of `spark/java/`, when compiled and on) and through Iceberg's HadoopFileIO alone (the same REST
catalog under another name in the same Spark session). For each, the S3 requests the compaction made
(HEAD and GET, from the S3A statistics of the JVM's filesystem) are reported per run.

Each run builds fresh tables of SMALL_FILES files in one commit (not timed) on the throwaway stack
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
from lakehouse_dev.catalog_alias import catalog_alias

SMALL_FILES = int(os.environ.get("BENCH_COMPACT_FILES", "1000"))
ROWS_PER_FILE = int(os.environ.get("BENCH_COMPACT_ROWS_PER_FILE", "200"))
ICEBERG = "compaction Iceberg (rewrite_data_files)"
HADOOP = "compaction Iceberg, HadoopFileIO seul"
PYARROW = "pyarrow : lecture S3 + réécriture en 1 fichier"
PLAIN_CATALOG = "bench_hadoop_io"  # the same REST catalog, read through HadoopFileIO alone
HADOOP_FILE_IO = "org.apache.iceberg.hadoop.HadoopFileIO"
_BYTES: list[int] = []
_REQUESTS: dict[str, list[int]] = {}


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


def _s3_requests(spark, location: str) -> dict[str, int]:
    """HEAD and GET requests made so far by the JVM's S3A filesystem of `location` (its S3A statistics)."""
    jvm = spark._jvm
    fs = jvm.org.apache.hadoop.fs.FileSystem.get(jvm.java.net.URI(location), spark._jsc.hadoopConfiguration())
    counters = fs.getIOStatistics().counters()
    return {name: int(counters.get(f"action_http_{name.lower()}_request") or 0) for name in ("HEAD", "GET")}


def _timed_compaction(spark, settings, policy, identifier: str, catalog: str, measure: str, samples: Samples) -> None:
    from lakehouse_spark.maintenance import run_maintenance

    default = spark.conf.get("spark.sql.defaultCatalog")
    location = spark.sql(f"DESCRIBE TABLE EXTENDED {identifier}").where("col_name = 'Location'").collect()[0][1]
    spark.conf.set("spark.sql.defaultCatalog", catalog)
    try:
        before = _s3_requests(spark, location)
        started = time.perf_counter()
        [report] = run_maintenance(spark, settings, ["compact"], table=identifier, policy=policy, out=lambda _: None)
        samples[measure].append(time.perf_counter() - started)
        after = _s3_requests(spark, location)
    finally:
        spark.conf.set("spark.sql.defaultCatalog", default)
    assert report.before.data_files == SMALL_FILES and report.after.data_files == 1, report
    for name in ("HEAD", "GET"):
        _REQUESTS.setdefault(f"{measure} : requêtes {name}", []).append(after[name] - before[name])


def compaction() -> Samples:
    from lakehouse.core.maintenance_policy import load_policy

    settings, spark = _context()
    policy = load_policy(settings.maintenance_policy_file)
    samples: Samples = {ICEBERG: [], HADOOP: [], PYARROW: []}
    namespace = f"bench_compact_{uuid.uuid4().hex[:8]}"
    spark.sql(f"CREATE NAMESPACE IF NOT EXISTS {settings.catalog_name}.{namespace}")
    plain = catalog_alias(spark, settings.catalog_name, PLAIN_CATALOG, **{"io-impl": HADOOP_FILE_IO})
    s3 = s3_filesystem(settings)
    for run in range(RUNS):
        identifier = f"{namespace}.t{run}"
        paths = [p.split("://", 1)[1] for p in _small_files_table(spark, identifier)]
        assert len(paths) == SMALL_FILES, len(paths)
        _small_files_table(spark, f"{identifier}_hadoop")
        _BYTES.append(sum(info.size for info in s3.get_file_info(paths)))

        started = time.perf_counter()
        table = ds.dataset(paths, filesystem=s3, format="parquet").to_table()
        pq.write_table(
            table, f"{settings.landing_bucket}/bench/pyarrow-{run}.parquet", filesystem=s3, compression="snappy"
        )
        samples[PYARROW].append(time.perf_counter() - started)
        assert table.num_rows == SMALL_FILES * ROWS_PER_FILE

        # alternate which one runs first (a warmer JVM favours the second)
        order = [(identifier, settings.catalog_name, ICEBERG), (f"{identifier}_hadoop", plain, HADOOP)]
        for name, catalog, measure in order if run % 2 == 0 else order[::-1]:
            _timed_compaction(spark, settings, policy, name, catalog, measure, samples)
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
        "vitesse HadoopFileIO seul / pyarrow": pyarrow / statistics.median(samples[HADOOP]),
        **{f"{name} (médiane)": statistics.median(counts) for name, counts in sorted(_REQUESTS.items())},
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
