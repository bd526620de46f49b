"""What an Iceberg table holds, read from its metadata (pyiceberg, no Spark query): the numbers behind
`make table-health` and the before/after line of every maintenance job.

    stats = table_stats(settings, "bronze.raw_events", small_file_bytes=8 * 1024 * 1024)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lakehouse.core.errors import LakehouseError
from lakehouse.core.numbers import number
from lakehouse.core.settings import Settings


class UnknownTable(LakehouseError):
    """A table named by the user (TABLE=...) does not exist."""


@dataclass(frozen=True)
class TableStats:
    identifier: str
    snapshots: int
    data_files: int
    data_bytes: int
    records: int
    small_files: int
    compaction_candidates: int
    delete_files: int
    manifests: int
    oldest_snapshot_at: datetime | None
    current_snapshot_id: int | None

    @property
    def average_file_bytes(self) -> int:
        return self.data_bytes // self.data_files if self.data_files else 0

    def line(self) -> str:
        return (
            f"{self.data_files} fichiers, {human_bytes(self.data_bytes)}, {number(self.records)} lignes, "
            f"{self.snapshots} snapshots, {self.manifests} manifestes"
        )


def human_bytes(count: float) -> str:
    for unit in ("o", "Ko", "Mo", "Go"):
        if abs(count) < 1024 or unit == "Go":
            return f"{number(count)} {unit}" if unit == "o" else f"{number(count, 1)} {unit}"
        count /= 1024
    raise AssertionError("unreachable")


def qualified(spark, identifier: str) -> str:
    """`namespace.table` → `catalog.namespace.table` (the session's default catalog)."""
    return f"{spark.conf.get('spark.sql.defaultCatalog')}.{identifier}"


def list_tables(spark, namespaces: list[str]) -> list[str]:
    """`namespace.table` of every table of the namespaces that exist, sorted."""
    existing = {row[0] for row in spark.sql("SHOW NAMESPACES").collect()}
    identifiers = []
    for namespace in namespaces:
        if namespace in existing:
            identifiers += [
                f"{namespace}.{row.tableName}"
                for row in spark.sql(f"SHOW TABLES IN {namespace}").collect()
                if not row.isTemporary
            ]
    return sorted(identifiers)


def check_table(spark, identifier: str) -> str:
    """Return the identifier if the table exists, else raise UnknownTable with what to type."""
    if identifier.count(".") != 1:
        raise UnknownTable(f"TABLE={identifier} : nommez la table « namespace.table », par exemple bronze.raw_events")
    namespace, name = identifier.split(".")
    if not spark.catalog.tableExists(qualified(spark, identifier)):
        raise UnknownTable(
            f'table inconnue : {identifier} (tables de {namespace} : `make beeline SQL="show tables in {namespace}"`)'
        )
    return identifier


def live_files(table: Any, manifests: list) -> Iterator[tuple[tuple, Any]]:
    """(partition: spec id and partition values, file) of each live file (data or delete) of `manifests`,
    read by pyiceberg; what rewrite_data_files groups by."""
    for manifest in manifests:
        for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True):
            yield (manifest.partition_spec_id, tuple(entry.data_file.partition)), entry.data_file


def table_stats(
    settings: Settings, identifier: str, small_file_bytes: int, candidate_file_bytes: int = 0, min_input_files: int = 1
) -> TableStats:
    """Read from the table's Iceberg metadata (pyiceberg: its metadata file, manifest list and manifests),
    without a Spark query: the same figures as Spark's metadata tables (.snapshots, .refs, .manifests and
    the live entries of .files). `small_files` counts data files under `small_file_bytes`;
    `compaction_candidates` the data files under `candidate_file_bytes` in the partitions holding at least
    `min_input_files` of them (what rewrite_data_files would rewrite)."""
    from pyiceberg.manifest import DataFileContent

    from lakehouse.core.clients import iceberg_catalog

    table = iceberg_catalog(settings).load_table(tuple(identifier.split(".")))
    current = table.current_snapshot()
    manifests = current.manifests(table.io) if current else []
    data_files = data_bytes = records = small_files = delete_files = 0
    candidates: Counter = Counter()
    for partition, data_file in live_files(table, manifests):
        if data_file.content != DataFileContent.DATA:
            delete_files += 1
            continue
        data_files += 1
        data_bytes += data_file.file_size_in_bytes
        records += data_file.record_count
        small_files += data_file.file_size_in_bytes < small_file_bytes
        if data_file.file_size_in_bytes < candidate_file_bytes:
            candidates[partition] += 1
    snapshots = table.snapshots()
    oldest = min((s.timestamp_ms for s in snapshots), default=None)
    return TableStats(
        identifier=identifier,
        snapshots=len(snapshots),
        data_files=data_files,
        data_bytes=data_bytes,
        records=records,
        small_files=small_files,
        compaction_candidates=sum(count for count in candidates.values() if count >= min_input_files),
        delete_files=delete_files,
        manifests=len(manifests),
        oldest_snapshot_at=None if oldest is None else datetime.fromtimestamp(oldest / 1000, UTC),
        current_snapshot_id=current.snapshot_id if current else None,
    )
