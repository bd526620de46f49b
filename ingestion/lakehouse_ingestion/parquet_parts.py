"""Buffer a stream's records into Parquet + Snappy part files, rolling at a size threshold.

Parts are written to a local work folder first; the lake store publishes them only once
the whole stream has been read (see `lake_store`), so a failed sync leaves nothing behind.
Object names follow Airbyte's S3 destination: `<YYYY>_<MM>_<DD>_<epoch_ms>_<part>.parquet`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from lakehouse_ingestion.arrow_schema import Column, arrow_schema, conform, inferred_column

COMPRESSION = "snappy"
GENERATION_ID = 0


def object_name(sync_started: datetime, part: int) -> str:
    utc = sync_started.astimezone(UTC)
    epoch_ms = int(utc.timestamp() * 1000)
    return f"{utc:%Y}_{utc:%m}_{utc:%d}_{epoch_ms}_{part}.parquet"


@dataclass
class LocalPart:
    name: str
    path: Path
    rows: int
    size: int


@dataclass
class PartWriter:
    """Accumulates one stream's records column by column and writes numbered part files."""

    stream: str
    columns: list[Column]
    sync_id: int
    sync_started: datetime
    work_dir: Path
    max_input_bytes: int
    parts: list[LocalPart] = field(default_factory=list)
    nulled_values: int = 0

    def __post_init__(self) -> None:
        self._known = {column.name for column in self.columns}
        self._reset()

    def _reset(self) -> None:
        self._raw_ids: list[str] = []
        self._extracted: list[int] = []
        self._changes: list[list[dict[str, str]]] = []
        self._values: dict[str, list[Any]] = {column.name: [] for column in self.columns}
        self._extras: dict[str, list[Any]] = {}
        self._input_bytes = 0

    @property
    def buffered_rows(self) -> int:
        return len(self._raw_ids)

    def add(self, data: dict[str, Any], emitted_at_ms: int, input_bytes: int) -> bool:
        """Add one record; return False when a field had to be nulled (kept, change recorded)."""
        changes = []
        for column in self.columns:
            value, change = conform(column, data.get(column.name))
            self._values[column.name].append(value)
            if change:
                changes.append(change)
        for name in data.keys() - self._known:
            if name not in self._extras:
                self._extras[name] = [None] * len(self._raw_ids)
        for name, values in self._extras.items():
            values.append(data.get(name))
        self._raw_ids.append(str(uuid.uuid4()))
        self._extracted.append(emitted_at_ms)
        self._changes.append(changes)
        self.nulled_values += len(changes)
        self._input_bytes += input_bytes
        if self._input_bytes >= self.max_input_bytes:
            self.flush()
        return not changes

    def flush(self) -> None:
        if not self._raw_ids:
            return
        extra_columns = [inferred_column(name, values) for name, values in sorted(self._extras.items())]
        columns = self.columns + extra_columns
        for column in extra_columns:
            converted = []
            for index, value in enumerate(self._extras[column.name]):
                value, change = conform(column, value)
                if change:
                    self._changes[index].append(change)
                    self.nulled_values += 1
                converted.append(value)
            self._values[column.name] = converted
        schema = arrow_schema(columns)
        arrays = [
            pa.array(self._raw_ids, pa.string()),
            pa.array(self._extracted, pa.int64()).cast(pa.timestamp("ms", tz="UTC")),
            pa.array(
                [{"sync_id": self.sync_id, "changes": c} for c in self._changes], schema.field("_airbyte_meta").type
            ),
            pa.array([GENERATION_ID] * len(self._raw_ids), pa.int64()),
            *(pa.array(self._values[c.name], c.arrow_type) for c in columns),
        ]
        table = pa.Table.from_arrays(arrays, schema=schema)
        name = object_name(self.sync_started, len(self.parts))
        path = self.work_dir / self.stream / name
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path, compression=COMPRESSION)
        self.parts.append(LocalPart(name=name, path=path, rows=table.num_rows, size=path.stat().st_size))
        self._reset()

    def finish(self) -> list[LocalPart]:
        self.flush()
        return self.parts
