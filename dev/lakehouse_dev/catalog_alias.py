"""The lakehouse's Iceberg catalog under another name in a running Spark session, with other properties:
tests and benches compare two FileIOs on the same tables in one session (`make bench`, test_whole_file_io)."""

from __future__ import annotations

from typing import Any


def catalog_alias(spark: Any, catalog: str, alias: str, **properties: str) -> str:
    """Register `alias`: every `spark.sql.catalog.<catalog>*` property of the session, then `properties`."""
    prefix = f"spark.sql.catalog.{catalog}"
    for key, value in spark.sparkContext.getConf().getAll():
        if key == prefix or key.startswith(prefix + "."):
            spark.conf.set(key.replace(prefix, f"spark.sql.catalog.{alias}", 1), value)
    for key, value in properties.items():
        spark.conf.set(f"spark.sql.catalog.{alias}.{key}", value)
    return alias
