"""Typing of landed records: JSON schema → Parquet types, values that do not fit are nulled and recorded."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pyarrow as pa
import pyarrow.parquet as pq

from lakehouse_ingestion.arrow_schema import arrow_schema, columns_from_json_schema, conform, inferred_column
from lakehouse_ingestion.parquet_parts import PartWriter, object_name

SCHEMA = {
    "properties": {
        "pays": {"type": "string"},
        "annee": {"type": "integer"},
        "pib": {"type": ["number", "null"]},
        "publie": {"type": ["string", "null"], "format": "date"},
        "maj": {"type": "string", "format": "date-time"},
        "actif": {"type": "boolean"},
    }
}


def test_json_schema_types_map_to_parquet_types_after_the_airbyte_columns():
    schema = arrow_schema(columns_from_json_schema(SCHEMA))
    assert schema.names == [
        "_airbyte_raw_id",
        "_airbyte_extracted_at",
        "_airbyte_meta",
        "_airbyte_generation_id",
        "pays",
        "annee",
        "pib",
        "publie",
        "maj",
        "actif",
    ]
    assert [str(schema.field(n).type) for n in ("pays", "annee", "pib", "publie", "maj", "actif")] == [
        "string",
        "int64",
        "double",
        "date32[day]",
        "timestamp[us, tz=UTC]",
        "bool",
    ]


def test_values_that_do_not_fit_are_nulled_with_an_airbyte_change():
    columns = {c.name: c for c in columns_from_json_schema(SCHEMA)}
    assert conform(columns["annee"], 2024) == (2024, None)
    assert conform(columns["annee"], 2024.0) == (2024, None)
    assert conform(columns["pib"], 12) == (12.0, None)
    assert conform(columns["publie"], "2025-06-30") == (date(2025, 6, 30), None)
    assert conform(columns["maj"], "2024-03-05T14:07:00Z") == (datetime(2024, 3, 5, 14, 7, tzinfo=UTC), None)
    for name, bad in (("annee", "2024"), ("annee", True), ("pib", "n/a"), ("publie", "30/06/2025"), ("actif", 1)):
        value, change = conform(columns[name], bad)
        assert value is None
        assert change == {"field": name, "change": "NULLED", "reason": "DESTINATION_SERIALIZATION_ERROR"}
    assert conform(columns["pib"], None) == (None, None)


def test_undeclared_fields_are_typed_from_their_values():
    assert inferred_column("n", [1, None, 3]).arrow_type == pa.int64()
    assert inferred_column("x", [1, 2.5]).arrow_type == pa.float64()
    assert inferred_column("s", ["a", 1]).arrow_type == pa.string()


def test_part_writer_rolls_files_keeps_extra_fields_and_names_them_like_airbyte(tmp_path):
    started = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    writer = PartWriter("flux", columns_from_json_schema(SCHEMA), 42, started, tmp_path, max_input_bytes=200)
    for i in range(10):
        data = {"pays": "CIV", "annee": 2024, "pib": 100.5 + i, "maj": "2024-01-01T00:00:00Z"}
        if i >= 6:
            data["nouveau_champ"] = i
        writer.add(data, emitted_at_ms=1_700_000_000_000 + i, input_bytes=60)
    parts = writer.finish()
    assert len(parts) > 1 and sum(p.rows for p in parts) == 10
    assert (
        [p.name for p in parts][0]
        == f"2026_11_23_{int(started.timestamp() * 1000)}_0.parquet"
        == object_name(started, 0)
    )
    tables = [pq.read_table(p.path) for p in parts]
    assert "nouveau_champ" in tables[-1].column_names and "nouveau_champ" not in tables[0].column_names
    assert all(pq.ParquetFile(p.path).metadata.row_group(0).column(0).compression == "SNAPPY" for p in parts)
    rows = [row for table in tables for row in table.to_pylist()]
    assert {row["_airbyte_meta"]["sync_id"] for row in rows} == {42}
    assert len({row["_airbyte_raw_id"] for row in rows}) == 10
