"""Schema drift between a landed file and its bronze table: evolve, widen, or refuse.

Rules (Iceberg's safe evolutions only):
- a column the table lacks is added (nullable); earlier rows read it as null;
- a column the file lacks is filled with null;
- int → bigint and float → double are accepted (the table column is widened if needed);
- any other type change (a string where a number was, ...) makes the file incompatible:
  it goes to quarantine with the column, the table type and the file type.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

# Spark SQL type of each Arrow type found in landed files.
_SIMPLE = {
    pa.int8(): "int",
    pa.int16(): "int",
    pa.int32(): "int",
    pa.int64(): "bigint",
    pa.uint8(): "int",
    pa.uint16(): "int",
    pa.uint32(): "bigint",
    pa.float16(): "float",
    pa.float32(): "float",
    pa.float64(): "double",
    pa.string(): "string",
    pa.large_string(): "string",
    pa.bool_(): "boolean",
    pa.date32(): "date",
    pa.binary(): "binary",
}
WIDENINGS = {("int", "bigint"), ("float", "double")}


def spark_type(arrow_type: pa.DataType) -> str:
    if arrow_type in _SIMPLE:
        return _SIMPLE[arrow_type]
    if pa.types.is_timestamp(arrow_type):
        return "timestamp" if arrow_type.tz else "timestamp_ntz"
    if pa.types.is_decimal(arrow_type):
        return f"decimal({arrow_type.precision},{arrow_type.scale})"
    if pa.types.is_struct(arrow_type):
        inner = ",".join(f"{f.name}:{spark_type(f.type)}" for f in arrow_type)
        return f"struct<{inner}>"
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return f"array<{spark_type(arrow_type.value_type)}>"
    return "string"


@dataclass
class DriftPlan:
    """What a file needs from its table: columns to add, columns to widen."""

    add: dict[str, str] = field(default_factory=dict)
    widen: dict[str, str] = field(default_factory=dict)

    def merge(self, other: DriftPlan) -> None:
        for name, kind in other.add.items():
            if name in self.add and self.add[name] != kind:
                if (self.add[name], kind) in WIDENINGS:
                    self.add[name] = kind
                continue
            self.add.setdefault(name, kind)
        for name, kind in other.widen.items():
            self.widen[name] = kind


class IncompatibleSchema(Exception):
    """The file changes a column's type in a way Iceberg cannot evolve safely."""


def _normalize(kind: str) -> str:
    return kind.replace(" ", "").lower()


def plan_for(file_schema: pa.Schema, table_columns: dict[str, str]) -> DriftPlan:
    """Compare a file's schema with the table's columns (name → Spark type); raise if incompatible."""
    plan = DriftPlan()
    for arrow_field in file_schema:
        kind = spark_type(arrow_field.type)
        current = table_columns.get(arrow_field.name)
        if current is None:
            plan.add[arrow_field.name] = kind
            continue
        if _normalize(current) == _normalize(kind):
            continue
        if (current, kind) in WIDENINGS:
            plan.widen[arrow_field.name] = kind
            continue
        if (kind, current) in WIDENINGS:
            continue  # the file holds a narrower type: cast on write
        if current.startswith("struct") and kind.startswith("struct"):
            continue  # Airbyte metadata: same producer, same structure
        raise IncompatibleSchema(f"colonne {arrow_field.name} : {kind} dans le fichier, {current} dans la table")
    return plan
