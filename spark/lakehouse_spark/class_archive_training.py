"""The Spark job that `make setup` runs once so that its JVM records the classes a lakehouse job loads
(lakehouse/core/class_archive.py): Iceberg tables written, merged, compacted and read, their metadata
tables, Parquet and Python rows. It works in a throwaway local Iceberg catalog (argument: its folder),
set up by `spark-submit` as the default catalog, and touches no service. Run by `spark-submit`, never
imported: the archive is written when its JVM exits.
"""

import sys

from pyspark.sql import SparkSession


def main(warehouse: str) -> None:
    # `spark-submit` makes `training`, a local Iceberg catalog under `warehouse`, the default catalog
    spark = SparkSession.builder.appName("lakehouse-class-archive").getOrCreate()
    table = "training.db.events"
    spark.sql("CREATE NAMESPACE IF NOT EXISTS training.db")
    spark.sql(
        f"CREATE TABLE {table} (event_id STRING, pays STRING, occurred_at TIMESTAMP, valeur DOUBLE) "
        "USING iceberg PARTITIONED BY (days(occurred_at))"
    )
    rows = spark.range(2000).selectExpr(
        "concat('e', cast(id as string)) as event_id",
        "element_at(array('BEN','CIV','SEN','TGO'), cast(id % 4 as int) + 1) as pays",
        "timestamp_seconds(1735689600 + id * 600) as occurred_at",
        "id * 0.5 as valeur",
    )
    rows.writeTo(table).option("fanout-enabled", "false").append()
    updates = spark.createDataFrame(
        [("e1", "NER", 1.5), ("x1", "MLI", 2.5)], "event_id string, pays string, valeur double"
    )
    updates.createOrReplaceTempView("updates")
    spark.sql(
        f"MERGE INTO {table} t USING (SELECT *, timestamp_seconds(1735689600) AS occurred_at FROM updates) s "
        "ON t.event_id = s.event_id WHEN MATCHED THEN UPDATE SET t.valeur = s.valeur WHEN NOT MATCHED THEN INSERT *"
    )
    spark.sql(
        f"SELECT pays, count(*), sum(valeur), row_number() OVER (ORDER BY pays) FROM {table} GROUP BY pays"
    ).collect()
    spark.sql(f"SELECT count(*) FROM {table}.snapshots").collect()
    spark.sql(f"SELECT count(*), sum(file_size_in_bytes) FROM {table}.files GROUP BY partition").collect()
    spark.sql(f"DESCRIBE TABLE EXTENDED {table}").collect()
    spark.sql("CALL training.system.rewrite_data_files(table => 'db.events', options => map('min-input-files', '2'))")
    spark.sql("CALL training.system.rewrite_manifests(table => 'db.events')")
    spark.read.parquet(f"{warehouse}/iceberg/db/events/data").count()
    spark.stop()


if __name__ == "__main__":
    main(sys.argv[1])
