"""Land files in a test's landing bucket as `make ingest` does (its writer and atomic publication), or put
raw objects there for the bad-input cases; small record factories for the streams."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from lakehouse_ingestion.arrow_schema import columns_from_json_schema
from lakehouse_ingestion.connector import MANIFEST
from lakehouse_ingestion.lake_store import LakeStore
from lakehouse_ingestion.parquet_parts import PartWriter

SCHEMAS = {s["name"]: s["schema_loader"]["schema"] for s in yaml.safe_load(MANIFEST.read_text())["streams"]}


def land(settings, stream, records, tmp_path, parts=1, schema=None):
    """Land records as the ingestion does (Airbyte columns, Parquet + Snappy, atomic publication)."""
    started = datetime.now(UTC)
    sync_id = int(started.timestamp() * 1000) + int(uuid.uuid4().int % 1000)
    per_part = max(1, len(records) // parts)
    writer = PartWriter(
        stream,
        columns_from_json_schema(schema or SCHEMAS[stream]),
        sync_id,
        started,
        tmp_path / str(sync_id),
        max_input_bytes=10**12,
    )
    for index, record in enumerate(records, start=1):
        writer.add(record, 1_700_000_000_000, 10)
        if index % per_part == 0:
            writer.flush()
    return LakeStore(settings).publish(stream, sync_id, writer.finish(), None, frozenset())


def indicators(year, countries=("BEN", "CIV")):
    return [
        {
            "pays": p,
            "annee": year,
            "trimestre": q,
            "pib_nominal_milliards_fcfa": 1000.0 + q,
            "date_publication": "2025-03-31",
        }
        for p in countries
        for q in (1, 2, 3, 4)
    ]


def users(start, count):
    return [
        {
            "user_id": f"u{i:07d}",
            "email": f"user{i}@example.org",
            "pays": "SEN",
            "created_at": "2024-01-01T00:00:00Z",
            "updated_at": "2024-02-01T00:00:00Z",
        }
        for i in range(start, start + count)
    ]


def put_raw(settings, stream, name, body: bytes) -> str:
    key = f"{settings.get('LANDING_PREFIX')}/{stream}/{name}"
    LakeStore(settings).s3.put_object(Bucket=settings.landing_bucket, Key=key, Body=body)
    return key


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="snappy")
    return sink.getvalue()
