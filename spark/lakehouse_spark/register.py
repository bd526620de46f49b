"""`make register`: register the landed Parquet files as Iceberg tables in `lakehouse.bronze`, exactly once,
even when two registrations run at the same moment from two processes or two machines.

Exactly once, with the catalog as the only authority: a registration writes everything it adds on a
branch of each table it touches (`reg_<batch>`: the rows of each bronze table, its entries in the ledger
`bronze.ingestion_ledger` and in the quarantine `bronze.rejected_files`), then makes all of it visible
in **one catalog transaction** that moves `main` of those tables to the branches' heads, on condition
that `main` of each, the ledger and the quarantine included, is still where this registration read it.
A second registration that read the same ledger loses: the catalog refuses its transaction (HTTP 409)
and nothing of it becomes visible; it reads the ledger again, finds the winner's files there, and
registers only what is left. Data and ledger entries become visible together or not at all, so a crash
at any moment leaves either the whole batch or nothing (its branches, unreferenced files, are dropped by
a later registration and its files removed as orphans by maintenance).

Every bronze snapshot also carries the batch id (`lakehouse.batch-id`) and its (object key, ETag)
list (`lakehouse.files`). Lakes registered by an earlier version, which committed data and ledger one
after the other, may hold a data commit whose ledger commit was lost: the next registration writes the
missing ledger rows from those summaries (`recovered = true`), for snapshots of `main` only.

A file is identified by key and ETag: the same key landed again with other content is a new file
(reported as re-landed). A file that cannot be registered (zero bytes, unreadable Parquet,
incompatible schema) goes to the quarantine with its reason and is skipped until its content changes;
the others are registered. Schema drift is handled by `schema_drift` (new columns added, int/float
widened).
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from lakehouse.core import branches
from lakehouse.core.clients import iceberg_catalog, s3_client, s3_filesystem
from lakehouse.core.errors import LakehouseError, first_line
from lakehouse.core.faults import SimulatedCrash, fault_point
from lakehouse.core.numbers import number, seconds
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
MAX_ATTEMPTS = 5  # registrations lost to another one that committed first, before giving up
BRANCH_PREFIX = "reg_"
# A registration branch left by a process that is gone: dropped at once when it was made on this host,
# after this many hours when it was made elsewhere (the other machine's registration may still run).
ABANDONED_BRANCH_HOURS = 6


class RegistrationFailed(LakehouseError):
    """Infrastructure failure (catalog or S3 unreachable, commit refused): nothing can be decided."""


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
        rate = f", {number(self.rows / self.seconds)} lignes/s" if self.seconds and self.rows else ""
        parts = [
            f"{self.stream}: {number(self.files)} fichiers, {number(self.rows)} lignes enregistrés en "
            f"{seconds(self.seconds)}{rate}",
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


def _table_columns(spark, name: str) -> dict[str, str] | None:
    from pyspark.sql.utils import AnalysisException

    try:
        schema = spark.table(name).schema
    except AnalysisException:
        return None
    return {f.name: f.dataType.simpleString() for f in schema.fields if f.name not in LINEAGE_COLUMNS}


def main_snapshot(spark, table: str) -> int | None:
    """The snapshot `main` of `table` points to now (None: a table without any commit on main)."""
    rows = spark.sql(f"SELECT snapshot_id FROM {table}.refs WHERE name = 'main'").collect()
    return rows[0][0] if rows else None


def _identities(spark, table: str, snapshot_id: int | None) -> set[tuple[str, str]]:
    """(object key, ETag) of the ledger or quarantine rows at `snapshot_id` (none before the first commit)."""
    if snapshot_id is None:
        return set()
    rows = spark.sql(f"SELECT object_key, etag FROM {table} VERSION AS OF {snapshot_id}").collect()
    return {(row.object_key, row.etag) for row in rows}


def _bronze_tables(settings: Settings) -> list[tuple[str, object]]:
    """(Spark name, pyiceberg table) of every existing stream table, the ledger and the quarantine: metadata
    read without a Spark job."""
    from pyiceberg.exceptions import NoSuchTableError

    catalog = iceberg_catalog(settings)
    namespace = settings.get("BRONZE_NAMESPACE")
    found = []
    for name in (*load_streams(), LEDGER, REJECTED):
        try:
            found.append((qualified(settings, name), catalog.load_table((namespace, name))))
        except NoSuchTableError:
            continue
    return found


def recover_ledger(spark, settings: Settings, out: Reporter, tables: list[tuple[str, object]] | None = None) -> int:
    """Write ledger rows for files committed to a bronze table by an earlier version whose ledger commit
    was lost (data and ledger were then two commits), when their rows are in bronze. Only snapshots that
    were `main` count: the head of an abandoned registration branch holds files never made visible."""
    tables = _bronze_tables(settings) if tables is None else tables
    streams = {qualified(settings, name) for name in load_streams()}
    listed: dict[str, list[tuple[int, object, str, list]]] = {}  # table -> (snapshot, time, batch, files)
    for name, table in tables:
        if name not in streams:
            continue
        for entry in table.metadata.snapshot_log:
            snapshot = table.snapshot_by_id(entry.snapshot_id)
            properties = snapshot.summary.additional_properties if snapshot and snapshot.summary else {}
            files = json.loads(properties.get(FILES_PROPERTY, "[]"))
            if files:
                moment = datetime.fromtimestamp(snapshot.timestamp_ms / 1000, UTC)
                listed.setdefault(name, []).append(
                    (snapshot.snapshot_id, moment, properties.get(BATCH_PROPERTY), files)
                )
    if not listed:
        return 0
    ledger = _identities(spark, qualified(settings, LEDGER), main_snapshot(spark, qualified(settings, LEDGER)))
    missing_rows = []
    for table, snapshots in listed.items():
        for snapshot_id, moment, batch, files in snapshots:
            lost = [(key, etag) for key, etag in files if (key, etag) not in ledger]
            if not lost:
                continue
            counts = {
                (r._source_object_key, r._source_etag): r.n
                for r in spark.sql(
                    f"SELECT _source_object_key, _source_etag, count(*) AS n FROM {table} "
                    f"WHERE _batch_id = '{batch}' GROUP BY 1, 2"
                ).collect()
            }
            for key, etag in lost:
                if not counts.get((key, etag)):
                    continue  # its rows are gone too (repair, rollback): the file is registered anew instead
                missing_rows.append(
                    (key, etag, None, int(counts[(key, etag)]), table, snapshot_id, batch, moment, True)
                )
                ledger.add((key, etag))
    if missing_rows:
        _append_ledger(spark, qualified(settings, LEDGER), missing_rows)
        out(
            f"reprise : {len(missing_rows)} fichiers déjà dans bronze mais absents du registre "
            "ont été inscrits au registre"
        )
    return len(missing_rows)


LEDGER_SCHEMA = (
    "object_key string, etag string, size bigint, row_count bigint, target_table string, snapshot_id bigint, "
    "batch_id string, registered_at timestamp, recovered boolean"
)
QUARANTINE_SCHEMA = (
    "object_key string, etag string, size bigint, stream string, reason string, error_message string, "
    "first_seen timestamp, batch_id string"
)


def _append_ledger(spark, target: str, rows: list[tuple]) -> None:
    spark.createDataFrame(rows, LEDGER_SCHEMA).writeTo(target).append()


def _already_there(error: Exception) -> bool:
    text = str(error).lower()
    return "already exists" in text or "alreadyexists" in text or "duplicate" in text


def _create_if_missing(spark, ddl: str) -> None:
    """`CREATE TABLE IF NOT EXISTS`, also when another registration creates the same table meanwhile."""
    try:
        spark.sql(ddl)
    except Exception as error:
        if not _already_there(error):
            raise


def _evolve(spark, table: str, plan: DriftPlan) -> None:
    """Add and widen columns; a column another registration added or widened meanwhile is left as is."""
    current = _table_columns(spark, table) or {}
    for name, kind in plan.add.items():
        if name in current:
            continue
        try:
            spark.sql(f"ALTER TABLE {table} ADD COLUMN `{name}` {kind}")
        except Exception as error:
            if not _already_there(error):
                raise
    for name, kind in plan.widen.items():
        if current.get(name) != kind:
            spark.sql(f"ALTER TABLE {table} ALTER COLUMN `{name}` TYPE {kind}")


def new_batch_id() -> str:
    """Time, host and process of a registration, and a random part: `20261204T190000Z-<host>-<pid>-<rand>`."""
    host = "".join(c for c in socket.gethostname().lower() if c.isalnum())[:12] or "hote"
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{host}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def branch_of(batch_id: str) -> str:
    return BRANCH_PREFIX + batch_id.lower().replace("-", "_")


class Claim:
    """One registration's writes: a branch `reg_<batch>` of each table it touches, made from `main` as it
    was read, then made visible in one catalog transaction (`commit`) that requires `main` of every table
    read (bronze tables, ledger, quarantine) to be still where it was."""

    def __init__(self, spark, settings: Settings, batch_id: str):
        self.spark, self.settings, self.branch = spark, settings, branch_of(batch_id)
        self.bases: dict[str, int | None] = {}  # table → main snapshot this registration builds on
        self.opened: list[str] = []  # tables with a branch

    def read(self, table: str) -> int | None:
        """Record where `main` of `table` is, as this registration reads it."""
        self.bases.setdefault(table, main_snapshot(self.spark, table))
        return self.bases[table]

    def open(self, table: str) -> str:
        """The branch of `table` to write on (made from `main` where it was read); its Spark identifier."""
        if table not in self.opened:
            base = self.read(table)
            at = f" AS OF VERSION {base}" if base is not None else ""  # no main yet: an empty branch
            self.spark.sql(f"ALTER TABLE {table} CREATE BRANCH `{self.branch}`{at}")
            self.opened.append(table)
        return f"{table}.branch_{self.branch}"

    def head(self, table: str) -> int:
        rows = self.spark.sql(f"SELECT snapshot_id FROM {table}.refs WHERE name = '{self.branch}'").collect()
        return rows[0][0]

    def commit(self) -> None:
        """Move `main` of every opened table to its branch head, in one transaction (ConcurrentChange when
        another writer moved any `main` this registration read)."""
        moves = [branches.RefMove(*self._split(t), self.bases[t], self.head(t)) for t in self.opened]
        unchanged = [(*self._split(t), base) for t, base in self.bases.items() if t not in self.opened]
        fault_point("register-before-transaction")
        try:
            branches.commit_moves(self.settings, moves, drop_branch=self.branch, unchanged=unchanged)
        except branches.ConcurrentChange:
            raise
        except LakehouseError:
            if not self._landed(moves):  # the answer was lost, not the transaction: it may have been applied
                raise
        fault_point("register-after-transaction")

    def _landed(self, moves: list[branches.RefMove]) -> bool:
        return all(main_snapshot(self.spark, f"{self.settings.catalog_name}.{m.table}") == m.target for m in moves)

    def abandon(self) -> None:
        """Drop the branches (best effort: a branch left behind is dropped by a later registration)."""
        for table in self.opened:
            try:
                self.spark.sql(f"ALTER TABLE {table} DROP BRANCH IF EXISTS `{self.branch}`")
            except Exception:
                pass

    def _split(self, table: str) -> tuple[str, str]:
        _catalog, namespace, name = table.split(".")
        return namespace, name


def drop_abandoned_branches(settings: Settings, out: Reporter, tables: list[tuple[str, object]] | None = None) -> int:
    """Drop the registration branches of registrations that are gone: made on this host by a process that
    no longer runs, or older than ABANDONED_BRANCH_HOURS. Their files become orphans (maintenance)."""
    host = "".join(c for c in socket.gethostname().lower() if c.isalnum())[:12] or "hote"
    now = datetime.now(UTC)
    dropped = 0
    for _name, table in _bronze_tables(settings) if tables is None else tables:
        for ref in [ref for ref in table.metadata.refs if ref.startswith(BRANCH_PREFIX)]:
            parts = ref[len(BRANCH_PREFIX) :].split("_")
            try:
                made = datetime.strptime(parts[0], "%Y%m%dt%H%M%Sz").replace(tzinfo=UTC)
                made_here, pid = parts[1] == host, int(parts[2])
            except (ValueError, IndexError):
                continue
            alive = made_here and os.path.exists(f"/proc/{pid}") and pid != os.getpid()
            if (made_here and not alive) or (now - made).total_seconds() > ABANDONED_BRANCH_HOURS * 3600:
                table = table.refresh()
                if ref in table.metadata.refs:
                    table.manage_snapshots().remove_branch(ref).commit()
                    dropped += 1
    if dropped:
        out(f"reprise : {dropped} branche(s) d'un enregistrement interrompu supprimée(s) (rien n'en était visible)")
    return dropped


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
    claim: Claim,
    batch_id: str,
    filesystem,
) -> tuple[StreamResult, list, list]:
    """Write one stream's new files on its registration branch; return the result, ledger rows and
    quarantine rows (made visible by the caller's transaction)."""
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
            _create_if_missing(spark, stream_table_ddl(settings, spec, effective))
        _evolve(spark, table, plan)
        if existing is not None:
            result.added_columns, result.widened_columns = sorted(plan.add), sorted(plan.widen)
        effective = {**(_table_columns(spark, table) or {}), **effective}
        files = [[obj.key, obj.etag] for obj, _ in accepted]
        staged, s3 = None, s3_client(settings)
        objects = [obj for obj, _ in accepted]
        if small_batches.worth_staging(objects):
            key = small_batches.staging_key(batch_id, stream)
            if small_batches.stage_small_batch(filesystem, s3, settings.landing_bucket, objects, key):
                staged = key
        try:
            frame = _frame(spark, settings, accepted, effective, batch_id, now, staged)
            fault_point("register-before-write")
            # No fanout writer: with it each task keeps one open Parquet writer, its buffers included, per
            # partition it meets until the end; 10M events over 810 days filled a 2 GB heap. Rows are sorted
            # by partition within each task instead (spilling to disk), one file open at a time.
            (
                frame.writeTo(claim.open(table))
                .option("fanout-enabled", "false")
                .option(f"snapshot-property.{BATCH_PROPERTY}", batch_id)
                .option(f"snapshot-property.{FILES_PROPERTY}", json.dumps(files))
                .append()
            )
        finally:
            if staged:
                small_batches.drop_staging(s3, settings.landing_bucket, staged)
        snapshot_id = claim.head(table)
        for obj, info in accepted:
            ledger_rows.append((obj.key, obj.etag, obj.size, info.rows, table, snapshot_id, batch_id, now, False))
        result.files, result.rows = len(accepted), sum(info.rows for _, info in accepted)
    result.seconds = time.monotonic() - started
    return result, ledger_rows, quarantine_rows


class RegistrationLost(Exception):
    """Another registration committed first: this one's branches were dropped, it must read again."""


def _concurrent_commit(error: BaseException) -> bool:
    """A commit refused because another writer committed to the same table meanwhile. SeaweedFS answers a
    snapshot added on a branch while another branch of the table got one with HTTP 400 ("can't add snapshot
    with sequence number N, must be > than last sequence number N") rather than with the 409 that Iceberg
    retries by itself."""
    text = str(error)
    return "CommitFailedException" in text or ("sequence number" in text and "must be >" in text)


def _register_once(spark, settings: Settings, streams: list[str], out: Reporter) -> list[StreamResult]:
    batch_id = new_batch_id()
    claim = Claim(spark, settings, batch_id)
    ledger_table, rejected_table = qualified(settings, LEDGER), qualified(settings, REJECTED)
    try:
        try:
            ledger = _identities(spark, ledger_table, claim.read(ledger_table))
            rejected = _identities(spark, rejected_table, claim.read(rejected_table))
        except Exception as error:  # catalog or S3 down: nothing can be decided
            raise RegistrationFailed(f"catalogue Iceberg ou S3 injoignable : {first_line(error)}") from error
        fault_point("register-ledger-read")
        filesystem = s3_filesystem(settings)
        results, ledger_rows, quarantine_rows = [], [], []
        for stream in streams:
            try:
                result, new_ledger, new_quarantine = register_stream(
                    spark, settings, stream, ledger, rejected, claim, batch_id, filesystem
                )
            except SimulatedCrash:
                raise
            except Exception as error:
                if _concurrent_commit(error):
                    raise branches.ConcurrentChange(f"{stream} : {first_line(error, limit=200)}") from None
                raise RegistrationFailed(f"{stream} : {first_line(error)}") from error
            ledger_rows += new_ledger
            quarantine_rows += new_quarantine
            results.append(result)
        try:
            if ledger_rows:
                _append_ledger(spark, claim.open(ledger_table), ledger_rows)
            if quarantine_rows:
                spark.createDataFrame(quarantine_rows, QUARANTINE_SCHEMA).writeTo(claim.open(rejected_table)).append()
        except Exception as error:
            if _concurrent_commit(error):
                raise branches.ConcurrentChange(f"registre : {first_line(error, limit=200)}") from None
            raise
        fault_point("register-branches-written")
        if claim.opened:
            claim.commit()
    except branches.ConcurrentChange as conflict:
        claim.abandon()
        raise RegistrationLost(str(conflict)) from None
    except SimulatedCrash:
        raise
    except BaseException:
        claim.abandon()
        raise
    for result in results:
        out(result.line())
        for key, reason, message in result.rejected:
            out(f"  quarantaine : {key} — {reason} : {message}")
    return results


def register(spark, settings: Settings, streams: list[str] | None = None, out: Reporter = print) -> list[StreamResult]:
    streams = selected_streams(streams)
    fault_point("register-start")
    try:
        _create_if_missing(spark, ledger_ddl(settings))
        _create_if_missing(spark, rejected_ddl(settings))
        tables = _bronze_tables(settings)
        drop_abandoned_branches(settings, out, tables)
        recover_ledger(spark, settings, out, tables)
    except Exception as error:  # catalog or S3 down: nothing can be decided
        raise RegistrationFailed(f"catalogue Iceberg ou S3 injoignable : {first_line(error)}") from error
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return _register_once(spark, settings, streams, out)
        except RegistrationLost as lost:
            out(
                f"un autre enregistrement a publié avant celui-ci ({lost}) : rien de celui-ci n'est visible ; "
                f"relecture du registre et nouvel essai ({attempt}/{MAX_ATTEMPTS})"
            )
            time.sleep(0.5 * attempt)
    raise RegistrationFailed(
        f"{MAX_ATTEMPTS} enregistrements concurrents ont publié avant celui-ci : relancez `make register`"
    )
