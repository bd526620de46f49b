"""What an Iceberg table holds, read from its metadata tables: the numbers behind `make table-health`
and the before/after line of every maintenance job.

    stats = table_stats(spark, "bronze.raw_events", small_file_bytes=8 * 1024 * 1024)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from lakehouse.core.errors import LakehouseError
from lakehouse.core.numbers import number


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


def table_stats(
    spark, identifier: str, small_file_bytes: int, candidate_file_bytes: int = 0, min_input_files: int = 1
) -> TableStats:
    """One SQL statement over the metadata tables (.snapshots, .files, .manifests, .refs) of the table.
    `small_files` counts data files under `small_file_bytes`; `compaction_candidates` the data files under
    `candidate_file_bytes` in the partitions holding at least `min_input_files` of them (what
    rewrite_data_files would rewrite)."""
    table = qualified(spark, identifier)
    partition = "partition" if "partition" in spark.table(f"{table}.files").columns else "'-'"
    row = spark.sql(f"""
        select
            (select count(*) from {table}.snapshots) as snapshots,
            (select min(unix_millis(committed_at)) from {table}.snapshots) as oldest_snapshot_ms,
            (select max(snapshot_id) from {table}.refs where name = 'main') as current_snapshot_id,
            (select count(*) from {table}.manifests) as manifests,
            coalesce(sum(data_files), 0) as data_files, coalesce(sum(data_bytes), 0) as data_bytes,
            coalesce(sum(records), 0) as records, coalesce(sum(small_files), 0) as small_files,
            coalesce(sum(case when candidates >= {int(min_input_files)} then candidates else 0 end), 0)
                as compaction_candidates,
            coalesce(sum(delete_files), 0) as delete_files
        from (
            select
                count_if(content = 0) as data_files,
                sum(case when content = 0 then file_size_in_bytes else 0 end) as data_bytes,
                sum(case when content = 0 then record_count else 0 end) as records,
                count_if(content = 0 and file_size_in_bytes < {int(small_file_bytes)}) as small_files,
                count_if(content = 0 and file_size_in_bytes < {int(candidate_file_bytes)}) as candidates,
                count_if(content <> 0) as delete_files
            from {table}.files
            group by spec_id, {partition}
        ) as per_partition
    """).collect()[0]
    oldest = None if row.oldest_snapshot_ms is None else datetime.fromtimestamp(row.oldest_snapshot_ms / 1000, UTC)
    return TableStats(
        identifier=identifier,
        snapshots=row.snapshots,
        data_files=row.data_files,
        data_bytes=row.data_bytes,
        records=row.records,
        small_files=row.small_files,
        compaction_candidates=row.compaction_candidates,
        delete_files=row.delete_files,
        manifests=row.manifests,
        oldest_snapshot_at=oldest,
        current_snapshot_id=row.current_snapshot_id,
    )
