"""Typed columns for landed records, as Airbyte's S3 destination (Parquet) writes them.

The stream's JSON schema gives each field's Parquet type; Airbyte's v1 metadata columns
come first. A value that does not fit its type is not dropped with its record: the field
is nulled and the change is recorded in `_airbyte_meta.changes`, as Airbyte does. Fields
the schema does not declare are kept as extra columns (typed from their values) so that a
new field of the API reaches bronze as schema drift instead of being lost.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa

META_CHANGE = pa.struct([("field", pa.string()), ("change", pa.string()), ("reason", pa.string())])
META_TYPE = pa.struct([("sync_id", pa.int64()), ("changes", pa.list_(META_CHANGE))])
AIRBYTE_FIELDS = [
    pa.field("_airbyte_raw_id", pa.string(), nullable=False),
    pa.field("_airbyte_extracted_at", pa.timestamp("ms", tz="UTC"), nullable=False),
    pa.field("_airbyte_meta", META_TYPE, nullable=False),
    pa.field("_airbyte_generation_id", pa.int64(), nullable=False),
]
SERIALIZATION_ERROR = "DESTINATION_SERIALIZATION_ERROR"


class Unconvertible(ValueError):
    """The value does not fit the column's type."""


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise Unconvertible(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise Unconvertible(value)


def _to_float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Unconvertible(value)
    return float(value)


def _to_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Unconvertible(value)
    return value


def _to_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, (int, float, bool)):
        return json.dumps(value)
    raise Unconvertible(value)


def _to_timestamp(value: Any) -> datetime:
    if not isinstance(value, str):
        raise Unconvertible(value)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Unconvertible(value) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _to_date(value: Any) -> date:
    if not isinstance(value, str):
        raise Unconvertible(value)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Unconvertible(value) from None


@dataclass(frozen=True)
class Column:
    name: str
    arrow_type: pa.DataType
    convert: Callable[[Any], Any]


def _column_for(name: str, spec: dict[str, Any]) -> Column:
    types = spec.get("type", "string")
    types = [types] if isinstance(types, str) else list(types)
    kinds = [t for t in types if t != "null"] or ["string"]
    kind = kinds[0] if len(kinds) == 1 else "string"
    if kind == "integer":
        return Column(name, pa.int64(), _to_int)
    if kind == "number":
        return Column(name, pa.float64(), _to_float)
    if kind == "boolean":
        return Column(name, pa.bool_(), _to_bool)
    if kind == "string" and spec.get("format") == "date-time":
        return Column(name, pa.timestamp("us", tz="UTC"), _to_timestamp)
    if kind == "string" and spec.get("format") == "date":
        return Column(name, pa.date32(), _to_date)
    return Column(name, pa.string(), _to_string)


def columns_from_json_schema(json_schema: dict[str, Any]) -> list[Column]:
    """The record's columns, in the schema's declaration order."""
    return [_column_for(name, spec or {}) for name, spec in (json_schema.get("properties") or {}).items()]


def inferred_column(name: str, values: list[Any]) -> Column:
    """Type of a field the schema does not declare, from the values seen."""
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return Column(name, pa.int64(), _to_int)
    if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return Column(name, pa.float64(), _to_float)
    if present and all(isinstance(v, bool) for v in present):
        return Column(name, pa.bool_(), _to_bool)
    return Column(name, pa.string(), _to_string)


def conform(column: Column, value: Any) -> tuple[Any, dict[str, str] | None]:
    """The value converted to the column's type, or None plus the Airbyte change record."""
    if value is None:
        return None, None
    try:
        return column.convert(value), None
    except Unconvertible:
        return None, {"field": column.name, "change": "NULLED", "reason": SERIALIZATION_ERROR}


def arrow_schema(columns: list[Column]) -> pa.Schema:
    return pa.schema([*AIRBYTE_FIELDS, *(pa.field(c.name, c.arrow_type) for c in columns)])
