"""Iceberg round trips on the real REST catalog and S3: Spark and pyiceberg on the same tables."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakehouse.core.clients import iceberg_catalog, s3_filesystem

pytestmark = pytest.mark.integration


def test_spark_create_append_read_and_time_travel(spark):
    spark.sql("DROP TABLE IF EXISTS lakehouse.default.rt_spark")
    spark.sql("CREATE TABLE lakehouse.default.rt_spark (pays STRING, annee INT, pib DOUBLE) USING iceberg")
    spark.sql("INSERT INTO default.rt_spark VALUES ('CIV', 2023, 47000.5), ('SEN', 2023, 18700.25)")
    first = spark.sql("SELECT snapshot_id FROM default.rt_spark.snapshots ORDER BY committed_at").collect()[-1][0]
    spark.sql("INSERT INTO default.rt_spark VALUES ('BEN', 2023, 11900.0)")

    rows = spark.sql("SELECT pays, pib FROM default.rt_spark ORDER BY pays").collect()
    assert [(r.pays, r.pib) for r in rows] == [("BEN", 11900.0), ("CIV", 47000.5), ("SEN", 18700.25)]
    past = spark.sql(f"SELECT pays FROM default.rt_spark VERSION AS OF {first} ORDER BY pays").collect()
    assert [r.pays for r in past] == ["CIV", "SEN"]
    location = spark.sql("DESCRIBE TABLE EXTENDED default.rt_spark").where("col_name = 'Location'").collect()[0][1]
    assert location.startswith("s3://warehouse/default/rt_spark")


def test_spark_writes_parquet_with_the_configured_codec(spark, running_stack):
    spark.sql("CREATE TABLE IF NOT EXISTS lakehouse.default.rt_codec (id INT) USING iceberg")
    spark.sql("INSERT INTO default.rt_codec VALUES (1), (2)")
    path = spark.sql("SELECT file_path FROM default.rt_codec.files").collect()[0][0]
    with s3_filesystem(running_stack).open_input_file(path.split("://", 1)[1]) as handle:
        metadata = pq.ParquetFile(handle).metadata
    assert metadata.row_group(0).column(0).compression == running_stack.get("PARQUET_CODEC").upper()


def test_pyiceberg_and_spark_share_the_catalog(spark, running_stack):
    spark.sql("DROP TABLE IF EXISTS lakehouse.default.rt_shared")
    spark.sql("CREATE TABLE lakehouse.default.rt_shared (pays STRING, valeur BIGINT) USING iceberg")
    spark.sql("INSERT INTO default.rt_shared VALUES ('MLI', 1), ('NER', 2)")

    table = iceberg_catalog(running_stack).load_table(("default", "rt_shared"))
    assert sorted(table.scan().to_arrow().to_pylist(), key=lambda r: r["pays"]) == [
        {"pays": "MLI", "valeur": 1},
        {"pays": "NER", "valeur": 2},
    ]

    table.append(
        pa.table({"pays": pa.array(["TGO"]), "valeur": pa.array([3], pa.int64())}, schema=table.schema().as_arrow())
    )
    spark.sql("REFRESH TABLE default.rt_shared")
    assert spark.sql("SELECT sum(valeur) FROM default.rt_shared").collect()[0][0] == 6
    assert spark.sql("SELECT count(*) FROM default.rt_shared.snapshots").collect()[0][0] == 2
