"""The whole-file read path (`spark/java/`, `lakehouse.iceberg.WholeFileIO`) on the real stack.

The session's catalog reads through it (the default). Beside it, in the same Spark session, the same REST
catalog under other names: `plain` reads through Iceberg's HadoopFileIO alone, `tiny` reads whole only
files up to 2,000 bytes and fetches ahead within 20,000 bytes. Every read must give the same rows through
all three: silver and gold of the sample lake (`tests/sample_lake.py`), and a table built to be hard
(partitioned, small files, merge-on-read delete files, a renamed column and a widened one). A file whose
manifest length is wrong fails loudly, naming the file. The bound of the fetch ahead holds, and is given
back when tasks end.
"""

from __future__ import annotations

import re
import subprocess
import threading
import time

import pytest

from lakehouse.core.clients import hive_query, s3_client
from lakehouse.core.own_jar import FILE_IO_CLASS
from lakehouse.services import service_named
from lakehouse_dev.catalog_alias import catalog_alias

pytestmark = pytest.mark.integration

TINY_MAX_BYTES, TINY_PREFETCH_BYTES = 2_000, 20_000
HARD = "default.wf_hard"


@pytest.fixture(scope="module")
def catalogs(spark):
    assert spark.conf.get("spark.sql.catalog.lakehouse.io-impl") == FILE_IO_CLASS
    plain = catalog_alias(spark, "lakehouse", "plain", **{"io-impl": "org.apache.iceberg.hadoop.HadoopFileIO"})
    tiny = catalog_alias(
        spark,
        "lakehouse",
        "tiny",
        **{"whole-file.max-bytes": str(TINY_MAX_BYTES), "whole-file.prefetch-max-bytes": str(TINY_PREFETCH_BYTES)},
    )
    return ("lakehouse", plain, tiny)


def _rows(spark, catalog: str, table: str) -> list[tuple]:
    return sorted(
        (tuple(row) for row in spark.sql(f"SELECT * FROM {catalog}.{table}").collect()), key=lambda r: repr(r)
    )


def _prefetcher(spark):
    return spark._jvm.lakehouse.iceberg.Prefetcher


def _all_given_back(spark) -> bool:
    """Once the tasks have ended, a fetch still under way gives its bytes back when it ends (a few ms)."""
    prefetcher = _prefetcher(spark)
    deadline = time.monotonic() + 10
    while (prefetcher.reservedBytes(), prefetcher.openTasks()) != (0, 0) and time.monotonic() < deadline:
        time.sleep(0.05)
    return (prefetcher.reservedBytes(), prefetcher.openTasks()) == (0, 0)


@pytest.fixture(scope="module")
def hard_table(spark, catalogs):
    """Partitioned by country, 8 small files per commit, position deletes (merge-on-read), then a column
    renamed and one widened (int → bigint), and rows written after both."""
    spark.sql(f"DROP TABLE IF EXISTS lakehouse.{HARD}")
    spark.sql(
        f"CREATE TABLE lakehouse.{HARD} (id BIGINT, pays STRING, annee INT, valeur DOUBLE) USING iceberg "
        "PARTITIONED BY (pays) TBLPROPERTIES ('format-version'='2', 'write.delete.mode'='merge-on-read', "
        "'write.update.mode'='merge-on-read', 'write.distribution-mode'='none')"
    )
    countries = "array('BEN','BFA','CIV','GNB','MLI','NER','SEN','TGO')"
    for batch in range(3):
        spark.range(batch * 4000, (batch + 1) * 4000).selectExpr(
            "id",
            f"element_at({countries}, cast(id % 8 as int) + 1) as pays",
            "cast(2000 + id % 25 as int) as annee",
            "id * 0.5 as valeur",
        ).repartition(8).writeTo(f"lakehouse.{HARD}").append()
    spark.sql(f"DELETE FROM lakehouse.{HARD} WHERE id % 7 = 0")
    spark.sql(f"UPDATE lakehouse.{HARD} SET valeur = -1 WHERE id % 11 = 0")
    spark.sql(f"ALTER TABLE lakehouse.{HARD} RENAME COLUMN valeur TO montant")
    spark.sql(f"ALTER TABLE lakehouse.{HARD} ALTER COLUMN annee TYPE BIGINT")
    spark.sql(f"INSERT INTO lakehouse.{HARD} VALUES (99999, 'SEN', 3000000000, 1.5)")
    return HARD


def test_the_hard_table_reads_the_same_through_every_file_io(spark, catalogs, hard_table):
    files = spark.sql(f"SELECT content, file_size_in_bytes FROM lakehouse.{hard_table}.all_files").collect()
    assert {row.content for row in files} == {0, 1}  # data files and position delete files
    assert any(row.file_size_in_bytes > TINY_MAX_BYTES for row in files)  # `tiny` reads some through Hadoop
    expected = _rows(spark, catalogs[1], hard_table)
    assert len(expected) == 12_000 - len(range(0, 12_000, 7)) + 1
    assert (99999, "SEN", 3_000_000_000, 1.5) in expected
    for catalog in (catalogs[0], catalogs[2]):
        assert _rows(spark, catalog, hard_table) == expected, catalog
    # the same through one partition's files only
    query = f"SELECT count(*), sum(montant) FROM {{}}.{hard_table} WHERE pays = 'CIV'"
    assert len({tuple(spark.sql(query.format(c)).collect()[0]) for c in catalogs}) == 1


def test_silver_and_gold_read_the_same_with_the_feature_on_and_off(spark, catalogs, sample_lake):
    tables = [
        f"{namespace}.{name}"
        for namespace in ("silver", "gold")
        for (_, name) in iceberg_catalog_tables(spark, namespace)
    ]
    assert any(t.startswith("silver.") for t in tables) and any(t.startswith("gold.") for t in tables)
    for table in tables:
        expected = _rows(spark, catalogs[1], table)
        assert _rows(spark, catalogs[0], table) == expected, table
        assert _rows(spark, catalogs[2], table) == expected, table


def iceberg_catalog_tables(spark, namespace: str) -> list[tuple[str, str]]:
    return [(row.namespace, row.tableName) for row in spark.sql(f"SHOW TABLES IN lakehouse.{namespace}").collect()]


def test_a_file_whose_manifest_length_is_wrong_fails_loudly(spark, running_stack, catalogs):
    spark.sql("DROP TABLE IF EXISTS lakehouse.default.wf_length")
    spark.sql("CREATE TABLE lakehouse.default.wf_length (id BIGINT, texte STRING) USING iceberg")
    spark.sql("INSERT INTO lakehouse.default.wf_length SELECT id, repeat('x', 20) FROM range(0, 100, 1, 1)")
    [path] = [row[0] for row in spark.sql("SELECT file_path FROM lakehouse.default.wf_length.files").collect()]
    bucket, key = path.split("://", 1)[1].split("/", 1)
    s3 = s3_client(running_stack)
    original = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    for altered in (original + b"\0" * 10, original[:-10]):  # replaced outside Iceberg: longer, then truncated
        s3.put_object(Bucket=bucket, Key=key, Body=altered)
        with pytest.raises(Exception) as failure:
            spark.sql("SELECT * FROM lakehouse.default.wf_length").collect()
        message = str(failure.value)
        assert "longueur inattendue pour" in message and key in message, message[-3000:]
        assert f"annoncent {len(original)} octets" in message, message[-3000:]
    s3.put_object(Bucket=bucket, Key=key, Body=original)
    assert spark.sql("SELECT count(*) FROM lakehouse.default.wf_length").collect()[0][0] == 100


@pytest.fixture(scope="module")
def many_files(spark, catalogs):
    """300 files of about 1 KB, read by one task (one split for the whole table)."""
    spark.sql("DROP TABLE IF EXISTS lakehouse.default.wf_many")
    spark.sql(
        "CREATE TABLE lakehouse.default.wf_many (id BIGINT) USING iceberg "
        "TBLPROPERTIES ('read.split.target-size'='1073741824', 'read.split.open-file-cost'='1')"
    )
    spark.range(0, 30_000).repartition(300).writeTo("lakehouse.default.wf_many").append()
    sizes = [row[0] for row in spark.sql("SELECT file_size_in_bytes FROM lakehouse.default.wf_many.files").collect()]
    assert len(sizes) == 300 and max(sizes) <= TINY_MAX_BYTES
    return "default.wf_many"


def test_the_fetch_ahead_stays_within_its_bound_and_gives_everything_back(spark, many_files):
    prefetcher = _prefetcher(spark)
    prefetcher.resetStatistics()
    total = spark.sql(f"SELECT sum(id) FROM tiny.{many_files}")
    assert total.rdd.getNumPartitions() == 1
    assert total.collect()[0][0] == sum(range(30_000))
    assert prefetcher.wholeFileReads() >= 300 and prefetcher.prefetchedReads() > 0
    assert 0 < prefetcher.peakReservedBytes() <= TINY_PREFETCH_BYTES
    assert _all_given_back(spark)


def test_a_task_that_stops_early_gives_its_files_fetched_ahead_back(spark, many_files):
    """LIMIT: the reader stops after a few rows, the files fetched for it are never opened."""
    _prefetcher(spark).resetStatistics()
    assert len(spark.sql(f"SELECT id FROM tiny.{many_files} LIMIT 3").collect()) == 3
    assert _prefetcher(spark).peakReservedBytes() > 0  # something was fetched ahead, then given back
    assert _all_given_back(spark)


def test_concurrent_readers_get_the_same_rows(spark, catalogs, hard_table):
    expected = _rows(spark, catalogs[1], hard_table)
    results: list = [None] * 4
    failures: list[BaseException] = []

    def read(index: int) -> None:
        try:
            results[index] = _rows(spark, catalogs[index % 2 * 2], hard_table)
        except BaseException as error:  # noqa: BLE001 (reported below)
            failures.append(error)

    threads = [threading.Thread(target=read, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not failures, failures
    assert all(result == expected for result in results)
    assert _all_given_back(spark)


def test_table_stats_read_from_the_metadata_agree_with_spark_metadata_tables(spark, running_stack, hard_table):
    """The maintenance's before/after figures come from the Iceberg metadata (pyiceberg) since issue 32,
    not from a Spark query: they must be Spark's metadata tables' figures."""
    from lakehouse_spark.table_stats import table_stats

    table = f"lakehouse.{hard_table}"
    files = spark.sql(f"SELECT content, file_size_in_bytes, record_count, spec_id, partition FROM {table}.files")
    data = files.where("content = 0")
    sizes = sorted(row[0] for row in data.select("file_size_in_bytes").collect())
    small, candidate = sizes[len(sizes) * 3 // 4], sizes[len(sizes) // 2]  # thresholds inside the table's sizes
    stats = table_stats(running_stack, hard_table, small, candidate, min_input_files=3)
    per_partition = data.where(f"file_size_in_bytes < {candidate}").groupBy("spec_id", "partition").count().collect()
    expected = {
        "snapshots": spark.sql(f"SELECT count(*) FROM {table}.snapshots").collect()[0][0],
        "manifests": spark.sql(f"SELECT count(*) FROM {table}.manifests").collect()[0][0],
        "data_files": data.count(),
        "data_bytes": data.agg({"file_size_in_bytes": "sum"}).collect()[0][0],
        "records": data.agg({"record_count": "sum"}).collect()[0][0],
        "small_files": data.where(f"file_size_in_bytes < {small}").count(),
        "delete_files": files.where("content <> 0").count(),
        "compaction_candidates": sum(row["count"] for row in per_partition if row["count"] >= 3),
        "current_snapshot_id": spark.sql(f"SELECT snapshot_id FROM {table}.refs WHERE name = 'main'").collect()[0][0],
    }
    assert {key: getattr(stats, key) for key in expected} == expected
    assert stats.delete_files > 0 and 0 < stats.compaction_candidates < stats.data_files
    oldest = spark.sql(f"SELECT min(committed_at) FROM {table}.snapshots").collect()[0][0]
    assert (
        abs(stats.oldest_snapshot_at.timestamp() - oldest.replace(tzinfo=stats.oldest_snapshot_at.tzinfo).timestamp())
        < 1
    )


def test_thrift_sessions_share_one_pool_of_fetch_threads(running_stack, many_files):
    """Each Thrift session has its own catalog and FileIO; the fetch-ahead pool is the JVM's: reading small
    files from one session after another leaves at most PREFETCH_THREADS fetch threads, and no bytes held."""
    thrift = service_named("thrift").process(running_stack)
    for _ in range(6):  # 6 sessions, one after another, each reading the 300 small files
        # (not count(*): Iceberg answers it from the manifests without reading a file)
        assert hive_query(running_stack, f"SELECT sum(id) FROM lakehouse.{many_files}") == [(sum(range(30_000)),)]
    dump = subprocess.run(["jcmd", str(thrift.pid()), "Thread.print"], capture_output=True, text=True, check=True)
    fetch_threads = re.findall(r'^"lakehouse-prefetch-\d+"', dump.stdout, re.MULTILINE)
    assert 0 < len(fetch_threads) <= running_stack.get_int("WHOLE_FILE_PREFETCH_THREADS"), fetch_threads
