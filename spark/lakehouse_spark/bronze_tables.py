"""The bronze tables: one per landed stream, plus the registration ledger and the quarantine.

Names and DDL live here only; the streams and their partitioning are declared in
`conf/streams.toml`. Every bronze row keeps Airbyte's columns and gains lineage: the source
object key and ETag, the registration batch and time.
"""

from __future__ import annotations

from lakehouse.core.settings import Settings
from lakehouse.core.streams import StreamSpec

# SeaweedFS's REST catalog refuses table names that do not start with a letter or a digit,
# hence no leading underscore for these bookkeeping tables.
LEDGER = "ingestion_ledger"
REJECTED = "rejected_files"
LINEAGE_COLUMNS = {
    "_source_object_key": "string",
    "_source_etag": "string",
    "_batch_id": "string",
    "_registered_at": "timestamp",
}
BATCH_PROPERTY = "lakehouse.batch-id"
FILES_PROPERTY = "lakehouse.files"


def qualified(settings: Settings, table: str) -> str:
    return f"{settings.catalog_name}.{settings.get('BRONZE_NAMESPACE')}.{table}"


def table_properties(settings: Settings) -> str:
    return (
        f"TBLPROPERTIES ('format-version'='2', 'write.parquet.compression-codec'='{settings.get('PARQUET_CODEC')}', "
        "'commit.retry.num-retries'='10')"
    )


def ledger_ddl(settings: Settings) -> str:
    return f"""CREATE TABLE IF NOT EXISTS {qualified(settings, LEDGER)} (
        object_key STRING, etag STRING, size BIGINT, row_count BIGINT, target_table STRING,
        snapshot_id BIGINT, batch_id STRING, registered_at TIMESTAMP, recovered BOOLEAN
    ) USING iceberg {table_properties(settings)}"""


def rejected_ddl(settings: Settings) -> str:
    return f"""CREATE TABLE IF NOT EXISTS {qualified(settings, REJECTED)} (
        object_key STRING, etag STRING, size BIGINT, stream STRING, reason STRING, error_message STRING,
        first_seen TIMESTAMP, batch_id STRING
    ) USING iceberg {table_properties(settings)}"""


def stream_table_ddl(settings: Settings, spec: StreamSpec, columns: dict[str, str]) -> str:
    body = ",\n        ".join(f"`{name}` {kind}" for name, kind in {**columns, **LINEAGE_COLUMNS}.items())
    partition = f"PARTITIONED BY ({spec.bronze_partition})" if spec.bronze_partition else ""
    return f"""CREATE TABLE IF NOT EXISTS {qualified(settings, spec.name)} (
        {body}
    ) USING iceberg {partition} {table_properties(settings)}"""
