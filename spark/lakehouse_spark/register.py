"""`make register`: register the landed Parquet files as Iceberg tables in `lakehouse.bronze`, exactly once.

Approach to exactly-once (chosen because it needs no transaction across two tables):
every append to a bronze table carries, in its Iceberg snapshot summary, the batch id
(`lakehouse.batch-id`) and the list of (object key, ETag) it holds (`lakehouse.files`).
The ledger (`bronze.ingestion_ledger`) is written after the data commit. If the job dies
between the two commits, the next run first reads the snapshot history of each bronze
table and writes the missing ledger rows from those summaries (`recovered = true`), so
a file is never appended twice nor forgotten. A file is identified by key and ETag: the
same key landed again with other content is a new file (reported as re-landed).

Each run makes one commit per bronze table (all of its new files together), one ledger
commit and at most one quarantine commit. A file that cannot be registered (zero bytes,
unreadable Parquet, incompatible schema) goes to `bronze.rejected_files` with its reason
and is skipped until its content changes; the others are registered. Schema drift is
handled by `schema_drift` (new columns added, int/float widened).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from lakehouse.core.clients import s3_client, s3_filesystem
from lakehouse.core.errors import LakehouseError, first_line
from lakehouse.core.reporting import Reporter
from lakehouse.core.settings import Settings
from lakehouse.core.streams import load_streams, selected_streams
from lakehouse_spark import small_batches
from lakehouse_spark.bronze_tables import (
    BATCH_PROPERTY,
    FILES_PROPERTY,
    LEDGER,
    LINEAGE_COLUMNS,
    REJECTED,
    ledger_ddl,
    qualified,
    rejected_ddl,
    stream_table_ddl,
)
from lakehouse_spark.landed_files import LandedObject, Rejection, inspect, list_landed
from lakehouse_spark.schema_drift import DriftPlan, IncompatibleSchema, plan_for

INSPECT_THREADS = 16  # footers of new files read at the same time
FAIL_AFTER_VARIABLE = "LAKEHOUSE_REGISTER_FAIL_AFTER"  # test-only: simulate a crash after a commit


class RegistrationFailed(LakehouseError):
    """Infrastructure failure (catalog or S3 unreachable, commit refused): nothing can be decided."""


class SimulatedCrash(RuntimeError):
    pass


@dataclass
class StreamResult:
    stream: str
    batch_id: str | None = None  # the registration's batch (the `_batch_id` of the rows it added)
    files: int = 0
    rows: int = 0
    seconds: float = 0.0
    already_registered: int = 0
    still_quarantined: int = 0
    relanded: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str, str]] = field(default_factory=list)  # key, reason, message
    added_columns: list[str] = field(default_factory=list)
    widened_columns: list[str] = field(default_factory=list)

    def line(self) -> str:
        rate = f", {self.rows / self.seconds:,.0f} lignes/s" if self.seconds and self.rows else ""
        parts = [
            f"{self.stream}: {self.files} fichiers, {self.rows} lignes enregistrés en {self.seconds:.1f} s{rate}",
            f"{self.already_registered} déjà enregistrés",
        ]
        if self.still_quarantined:
            parts.append(f"{self.still_quarantined} toujours en quarantaine")
        if self.rejected:
            parts.append(f"{len(self.rejected)} mis en quarantaine")
        if self.relanded:
            parts.append(f"{len(self.relanded)} re-déposés avec un nouveau contenu")
        if self.added_columns:
            parts.append(f"colonnes ajoutées : {', '.join(self.added_columns)}")
        if self.widened_columns:
            parts.append(f"colonnes élargies : {', '.join(self.widened_columns)}")
        return " ; ".join(parts)


def _maybe_crash(point: str) -> None:
    if os.environ.get(FAIL_AFTER_VARIABLE) == point:
        raise SimulatedCrash(f"arrêt simulé après {point} ({FAIL_AFTER_VARIABLE})")


def _table_columns(spark, name: str) -> dict[str, str] | None:
    from pyspark.sql.utils import AnalysisException

    try:
        schema = spark.table(name).schema
    except AnalysisException:
        return None
    return {f.name: f.dataType.simpleString() for f in schema.fields if f.name not in LINEAGE_COLUMNS}


def _identities(spark, settings: Settings, table: str) -> set[tuple[str, str]]:
    rows = spark.sql(f"SELECT object_key, etag FROM {qualified(settings, table)}").collect()
    return {(row.object_key, row.etag) for row in rows}


def recover_ledger(spark, settings: Settings, out: Reporter) -> int:
    """Write ledger rows for files committed to a bronze table whose ledger commit was lost."""
    ledger = _identities(spark, settings, LEDGER)
    missing_rows = []
    for spec in load_streams().values():
        table = qualified(settings, spec.name)
        if _table_columns(spark, table) is None:
            continue
        for snapshot in spark.sql(f"SELECT snapshot_id, committed_at, summary FROM {table}.snapshots").collect():
            files = json.loads((snapshot.summary or {}).get(FILES_PROPERTY, "[]"))
            lost = [(key, etag) for key, etag in files if (key, etag) not in ledger]
            if not lost:
                continue
            batch = snapshot.summary.get(BATCH_PROPERTY)
            counts = {
                (r._source_object_key, r._source_etag): r.n
                for r in spark.sql(
                    f"SELECT _source_object_key, _source_etag, count(*) AS n FROM {table} "
                    f"WHERE _batch_id = '{batch}' GROUP BY 1, 2"
                ).collect()
            }
            for key, etag in lost:
                missing_rows.append(
                    (
                        key,
                        etag,
                        None,
                        int(counts.get((key, etag), 0)),
                        table,
                        snapshot.snapshot_id,
                        batch,
                        snapshot.committed_at,
                        True,
                    )
                )
                ledger.add((key, etag))
    if missing_rows:
        _append_ledger(spark, settings, missing_rows)
        out(
            f"reprise : {len(missing_rows)} fichiers déjà dans bronze mais absents du registre "
            "ont été inscrits au registre"
        )
    return len(missing_rows)


def _append_ledger(spark, settings: Settings, rows: list[tuple]) -> None:
    schema = (
        "object_key string, etag string, size bigint, row_count bigint, target_table string, snapshot_id bigint, "
        "batch_id string, registered_at timestamp, recovered boolean"
    )
    spark.createDataFrame(rows, schema).writeTo(qualified(settings, LEDGER)).append()


def _evolve(spark, table: str, plan: DriftPlan) -> None:
    for name, kind in plan.add.items():
        spark.sql(f"ALTER TABLE {table} ADD COLUMN `{name}` {kind}")
    for name, kind in plan.widen.items():
        spark.sql(f"ALTER TABLE {table} ALTER COLUMN `{name}` TYPE {kind}")


def _frame(
    spark,
    settings: Settings,
    accepted: list[tuple[LandedObject, object]],
    columns: dict[str, str],
    batch_id: str,
    registered_at: datetime,
    staged: str | None = None,
):
    """One DataFrame of all accepted files, cast to the table's columns, with lineage. With `staged`,
    the rows of every accepted file are read from that one staging object (`small_batches`)."""
    from pyspark.sql import functions as F

    bucket = settings.landing_bucket
    by_schema: dict[str, list[LandedObject]] = {}
    for obj, info in accepted:
        by_schema.setdefault(str(info.schema), []).append(obj)
    etags = spark.createDataFrame([(obj.key, obj.etag) for obj, _ in accepted], "_k string, _source_etag string")
    if staged:
        raws = [spark.read.parquet(f"s3a://{bucket}/{staged}")]
    else:
        raws = [
            spark.read.parquet(*[f"s3a://{bucket}/{obj.key}" for obj in objects]).withColumn(
                "_k", F.regexp_replace(F.col("_metadata.file_path"), f"^s3a?://{bucket}/", "")
            )
            for objects in by_schema.values()
        ]
    frames = []
    for raw in raws:
        present = set(raw.columns)
        selected = [
            (F.col(f"`{name}`").cast(kind) if name in present else F.lit(None).cast(kind)).alias(name)
            for name, kind in columns.items()
        ]
        frames.append(raw.select(*selected, "_k"))
    frame = frames[0]
    for other in frames[1:]:
        frame = frame.unionByName(other)
    return (
        frame.join(F.broadcast(etags), "_k")
        .withColumnRenamed("_k", "_source_object_key")
        .withColumn("_batch_id", F.lit(batch_id))
        .withColumn("_registered_at", F.lit(registered_at).cast("timestamp"))
        .select(*columns, *LINEAGE_COLUMNS)
    )


def register_stream(
    spark,
    settings: Settings,
    stream: str,
    ledger: set[tuple[str, str]],
    rejected: set[tuple[str, str]],
    batch_id: str,
    filesystem,
) -> tuple[StreamResult, list, list]:
    """Register one stream's new files in one commit; return the result, ledger rows and quarantine rows."""
    started = time.monotonic()
    result = StreamResult(stream, batch_id=batch_id)
    spec = load_streams()[stream]
    table = qualified(settings, stream)
    registered_keys = {key for key, _ in ledger}
    objects = list_landed(settings, stream)
    new = []
    for obj in objects:
        if obj.identity in ledger:
            result.already_registered += 1
        elif obj.identity in rejected:
            result.still_quarantined += 1
        else:
            new.append(obj)
            if obj.key in registered_keys:
                result.relanded.append(obj.key)
    existing = _table_columns(spark, table)
    effective = dict(existing or {})
    plan = DriftPlan()
    accepted, quarantine_rows = [], []
    now = datetime.now(UTC)
    # Footers are read side by side: each is a few small S3 reads, bound by latency, not by the CPU.
    with ThreadPoolExecutor(max_workers=INSPECT_THREADS) as pool:
        infos = list(pool.map(lambda obj: inspect(filesystem, settings.landing_bucket, obj), new))
    for obj, info in zip(new, infos, strict=True):
        if not isinstance(info, Rejection):
            try:
                file_plan = plan_for(info.schema, effective)
            except IncompatibleSchema as error:
                info = Rejection("schema_incompatible", f"schéma incompatible avec {table} : {error}")
            else:
                effective.update(file_plan.add)
                effective.update(file_plan.widen)
                plan.merge(file_plan)
                accepted.append((obj, info))
                continue
        result.rejected.append((obj.key, info.reason, info.message))
        quarantine_rows.append((obj.key, obj.etag, obj.size, stream, info.reason, info.message, now, batch_id))
    ledger_rows = []
    if accepted:
        if existing is None:
            spark.sql(stream_table_ddl(settings, spec, effective))
        else:
            _evolve(spark, table, plan)
            result.added_columns, result.widened_columns = sorted(plan.add), sorted(plan.widen)
        files = [[obj.key, obj.etag] for obj, _ in accepted]
        staged, s3 = None, s3_client(settings)
        objects = [obj for obj, _ in accepted]
        if small_batches.worth_staging(objects):
            key = small_batches.staging_key(batch_id, stream)
            if small_batches.stage_small_batch(filesystem, s3, settings.landing_bucket, objects, key):
                staged = key
        try:
            frame = _frame(spark, settings, accepted, effective, batch_id, now, staged)
            # No fanout writer: with it each task keeps one open Parquet writer, its buffers included, per
            # partition it meets until the end; 10M events over 810 days filled a 2 GB heap. Rows are sorted
            # by partition within each task instead (spilling to disk), one file open at a time.
            (
                frame.writeTo(table)
                .option("fanout-enabled", "false")
                .option(f"snapshot-property.{BATCH_PROPERTY}", batch_id)
                .option(f"snapshot-property.{FILES_PROPERTY}", json.dumps(files))
                .append()
            )
        finally:
            if staged:
                small_batches.drop_staging(s3, settings.landing_bucket, staged)
        snapshot_id = spark.sql(
            f"SELECT snapshot_id FROM {table}.snapshots WHERE summary['{BATCH_PROPERTY}'] = '{batch_id}'"
        ).collect()[0][0]
        for obj, info in accepted:
            ledger_rows.append((obj.key, obj.etag, obj.size, info.rows, table, snapshot_id, batch_id, now, False))
        result.files, result.rows = len(accepted), sum(info.rows for _, info in accepted)
    result.seconds = time.monotonic() - started
    return result, ledger_rows, quarantine_rows


def register(spark, settings: Settings, streams: list[str] | None = None, out: Reporter = print) -> list[StreamResult]:
    streams = selected_streams(streams)
    try:
        spark.sql(ledger_ddl(settings))
        spark.sql(rejected_ddl(settings))
        recover_ledger(spark, settings, out)
        ledger = _identities(spark, settings, LEDGER)
        rejected = _identities(spark, settings, REJECTED)
    except Exception as error:  # catalog or S3 down: nothing can be decided
        raise RegistrationFailed(f"catalogue Iceberg ou S3 injoignable : {first_line(error)}") from error
    batch_id = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
    filesystem = s3_filesystem(settings)
    results, ledger_rows, quarantine_rows = [], [], []
    for stream in streams:
        try:
            result, new_ledger, new_quarantine = register_stream(
                spark, settings, stream, ledger, rejected, batch_id, filesystem
            )
        except SimulatedCrash:
            raise
        except Exception as error:
            raise RegistrationFailed(f"{stream} : {first_line(error)}") from error
        _maybe_crash("data-commit")
        ledger_rows += new_ledger
        quarantine_rows += new_quarantine
        results.append(result)
        out(result.line())
        for key, reason, message in result.rejected:
            out(f"  quarantaine : {key} — {reason} : {message}")
    if ledger_rows:
        _append_ledger(spark, settings, ledger_rows)
    if quarantine_rows:
        schema = (
            "object_key string, etag string, size bigint, stream string, reason string, error_message string, "
            "first_seen timestamp, batch_id string"
        )
        spark.createDataFrame(quarantine_rows, schema).writeTo(qualified(settings, REJECTED)).append()
    return results
