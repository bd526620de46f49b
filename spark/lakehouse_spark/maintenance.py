"""Iceberg table maintenance with Iceberg's Spark procedures, under the policy of `conf/maintenance.toml`.

Jobs, in the safe order `make maintain` runs them on every table of the maintained namespaces:
compact (rewrite_data_files) → rewrite-manifests → expire-snapshots → remove-orphans.

Safety: expiry only removes files that no kept snapshot references (Iceberg checks it); orphan
removal is a dry run unless `apply=True`, and only considers files older than the policy's window,
never under 24 hours, so the files of a write in progress are never touched. Commits use Iceberg's
optimistic concurrency with `commit.retry.num-retries` from the policy; a conflict that retries
could not resolve is reported per table (the other tables are still maintained) and fails the run.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from lakehouse.core.clients import s3_client
from lakehouse.core.errors import LakehouseError, first_line
from lakehouse.core.faults import fault_point
from lakehouse.core.maintenance_policy import MaintenancePolicy, TablePolicy, load_policy
from lakehouse.core.numbers import seconds
from lakehouse.core.reporting import Reporter
from lakehouse.core.settings import Settings
from lakehouse_spark.maintenance_due import ALL_JOBS, ORPHAN_JOB, record_maintained
from lakehouse_spark.table_stats import TableStats, check_table, human_bytes, list_tables, qualified, table_stats

JOBS = ALL_JOBS  # in the order they run
_CONFLICT_MARKERS = ("ValidationException", "CommitFailedException", "CommitStateUnknownException", "Cannot commit")
_ORPHANS_SHOWN = 10


class MaintenanceFailed(LakehouseError):
    """At least one table could not be maintained; the message names each table, job and cause."""


@dataclass(frozen=True)
class Context:
    now: datetime
    apply: bool
    settings: Settings


@dataclass
class TableReport:
    identifier: str
    before: TableStats
    after: TableStats | None = None
    details: dict[str, str] = field(default_factory=dict)
    orphans: list[str] = field(default_factory=list)
    compacted: bool = False
    failure: str | None = None
    seconds: float = 0.0


def timestamp_literal(moment: datetime) -> str:
    """A Spark SQL timestamp literal (the sessions run in UTC)."""
    return "TIMESTAMP '" + moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") + "'"


def call_procedure(spark, procedure: str, arguments: str):
    """`CALL <catalog>.system.<procedure>(<arguments>)` on the session's default catalog; its rows."""
    catalog = spark.conf.get("spark.sql.defaultCatalog")
    return spark.sql(f"CALL {catalog}.system.{procedure}({arguments})").collect()


def _table_properties(spark, identifier: str) -> dict[str, str]:
    return {row.key: row.value for row in spark.sql(f"SHOW TBLPROPERTIES {qualified(spark, identifier)}").collect()}


def ensure_commit_retries(spark, identifier: str, policy: TablePolicy) -> None:
    if _table_properties(spark, identifier).get("commit.retry.num-retries") != str(policy.commit_retries):
        spark.sql(
            f"ALTER TABLE {qualified(spark, identifier)} SET TBLPROPERTIES "
            f"('commit.retry.num-retries' = '{policy.commit_retries}')"
        )


def compact(spark, identifier: str, policy: TablePolicy, context: Context, report: TableReport) -> str:
    candidates = report.before.compaction_candidates
    if candidates < policy.min_input_files:
        return f"rien à compacter (aucune partition n'a {policy.min_input_files} fichiers sous 75 % de la taille visée)"
    strategy = "binpack"
    if policy.strategy == "sort":
        strategy = "sort" if _table_properties(spark, identifier).get("sort-order") else "binpack"
    [row] = call_procedure(
        spark,
        "rewrite_data_files",
        f"""
        table => '{identifier}', strategy => '{strategy}',
        options => map('target-file-size-bytes', '{policy.target_file_size_bytes}',
                       'min-input-files', '{policy.min_input_files}')""",
    )
    note = " (pas d'ordre de tri déclaré)" if policy.strategy == "sort" and strategy == "binpack" else ""
    report.compacted = row.rewritten_data_files_count > 0
    if row.rewritten_data_files_count == 0:
        return f"rien à compacter (moins de {policy.min_input_files} petits fichiers par partition){note}"
    return (
        f"{row.rewritten_data_files_count} fichiers réécrits en {row.added_data_files_count} "
        f"({human_bytes(row.rewritten_bytes_count)}, {strategy}){note}"
    )


def rewrite_manifests(spark, identifier: str, policy: TablePolicy, context: Context, report: TableReport) -> str:
    if not policy.rewrite_manifests:
        return "désactivé par la politique"
    if report.before.manifests <= 1 and not report.compacted:
        return "rien à réécrire (1 manifeste)"
    [row] = call_procedure(spark, "rewrite_manifests", f"table => '{identifier}'")
    if row.rewritten_manifests_count == 0:
        return "rien à réécrire"
    return f"{row.rewritten_manifests_count} manifestes réécrits en {row.added_manifests_count}"


def expire_snapshots(spark, identifier: str, policy: TablePolicy, context: Context, report: TableReport) -> str:
    cutoff = context.now - timedelta(hours=policy.snapshot_max_age_hours)
    before = report.before
    if (
        before.snapshots <= policy.retain_last
        or before.oldest_snapshot_at is None
        or before.oldest_snapshot_at >= cutoff
    ):
        return (
            f"rien à expirer ({before.snapshots} snapshots, le plus ancien du "
            f"{before.oldest_snapshot_at:%Y-%m-%d %H:%M} UTC ; expirent ceux d'avant {cutoff:%Y-%m-%d %H:%M} "
            f"hors les {policy.retain_last} derniers)"
            if before.oldest_snapshot_at
            else "rien à expirer (aucun snapshot)"
        )
    [row] = call_procedure(
        spark,
        "expire_snapshots",
        f"""
        table => '{identifier}', older_than => {timestamp_literal(cutoff)}, retain_last => {policy.retain_last}""",
    )
    return (
        f"snapshots d'avant {cutoff:%Y-%m-%d %H:%M} UTC hors les {policy.retain_last} derniers : "
        f"{row.deleted_data_files_count} fichiers de données, {row.deleted_manifest_files_count} manifestes, "
        f"{row.deleted_manifest_lists_count} listes de manifestes supprimés"
    )


def _table_location(spark, identifier: str) -> str:
    rows = spark.sql(f"DESCRIBE TABLE EXTENDED {qualified(spark, identifier)}").collect()
    return next(row.data_type for row in rows if row.col_name == "Location").rstrip("/")


def file_listing_view(spark, settings: Settings, identifier: str, shift: timedelta = timedelta(0)) -> str:
    """A temporary view (file_path, last_modified) of every object under the table's location, listed
    with the S3 API. remove_orphan_files then skips its own Hadoop directory walk, which SeaweedFS
    answers with 403 on empty folders (and which costs one request per folder).

    `shift` moves every modification time back by that much: with a maintenance clock set later than
    the real one (what-if runs, tests), each file's age is measured against that clock, while Iceberg
    still checks its own 24-hour floor against the real clock."""
    from pyspark.sql.types import StringType, StructField, StructType, TimestampType

    location = _table_location(spark, identifier)
    scheme, _, rest = location.partition("://")
    bucket, _, prefix = rest.partition("/")
    s3 = s3_client(settings)
    files = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/"):
        files += [
            (f"{scheme}://{bucket}/{obj['Key']}", obj["LastModified"] - shift)
            for obj in page.get("Contents", [])
            if not obj["Key"].endswith("/")
        ]
    schema = StructType(
        [StructField("file_path", StringType(), False), StructField("last_modified", TimestampType(), False)]
    )
    view = "lakehouse_files_" + identifier.replace(".", "_")
    spark.createDataFrame(files, schema).createOrReplaceTempView(view)
    return view


def find_orphans(spark, identifier: str, policy: TablePolicy, context: Context) -> list[str]:
    """The files no metadata references and older than the policy's window; deleted if `context.apply`."""
    window = timedelta(hours=policy.orphan_min_age_hours)
    real_now = datetime.now(UTC)
    view = file_listing_view(spark, context.settings, identifier, shift=max(context.now - real_now, timedelta(0)))
    rows = call_procedure(
        spark,
        "remove_orphan_files",
        f"""
        table => '{identifier}', older_than => {timestamp_literal(real_now - window)}, file_list_view => '{view}',
        dry_run => {"false" if context.apply else "true"}""",
    )
    return sorted(row.orphan_file_location for row in rows)


def remove_orphans(spark, identifier: str, policy: TablePolicy, context: Context, report: TableReport) -> str:
    report.orphans = find_orphans(spark, identifier, policy, context)
    verb = "supprimés" if context.apply else "à supprimer (essai à blanc ; APPLY=1 pour supprimer)"
    return f"{len(report.orphans)} fichiers orphelins de plus de {policy.orphan_min_age_hours} h {verb}"


_JOB_FUNCTIONS = {
    "compact": compact,
    "rewrite-manifests": rewrite_manifests,
    "expire-snapshots": expire_snapshots,
    "remove-orphans": remove_orphans,
}


def describe_failure(error: Exception) -> str:
    """One readable line for a Spark/Iceberg error (a commit conflict says so and what to do)."""
    text = str(error)
    first = next((line.strip() for line in text.splitlines() if any(m in line for m in _CONFLICT_MARKERS)), None)
    if first is not None:
        return (
            f"conflit de commit non résolu après les nouvelles tentatives ({first[:300]}) : une autre écriture "
            "a modifié les mêmes fichiers ; rien n'est perdu, relancez la maintenance"
        )
    return first_line(error)


def policy_stats(settings: Settings, identifier: str, policy: TablePolicy) -> TableStats:
    """The table's stats with the policy's thresholds; rewrite_data_files considers the files under 75 %
    of the target size (its min-file-size-bytes default)."""
    return table_stats(
        settings, identifier, policy.small_file_bytes, policy.target_file_size_bytes * 3 // 4, policy.min_input_files
    )


def maintain_table(
    spark, identifier: str, policy: TablePolicy, jobs: list[str], context: Context, out: Reporter
) -> TableReport:
    started = time.monotonic()
    report = TableReport(identifier=identifier, before=policy_stats(context.settings, identifier, policy))
    out(f"{identifier} — avant : {report.before.line()}")
    try:
        ensure_commit_retries(spark, identifier, policy)
        for job in jobs:
            job_started = time.monotonic()
            detail = _JOB_FUNCTIONS[job](spark, identifier, policy, context, report)
            report.details[job] = detail
            out(f"  {job:<18} {detail} ({seconds(time.monotonic() - job_started)})")
            for path in report.orphans[:_ORPHANS_SHOWN] if job == "remove-orphans" else []:
                out(f"      {path}")
            if job == "remove-orphans" and len(report.orphans) > _ORPHANS_SHOWN:
                out(f"      … et {len(report.orphans) - _ORPHANS_SHOWN} autres")
    except Exception as error:  # Py4J/Spark errors carry the Java exception text
        report.failure = describe_failure(error)
        out(f"  ÉCHEC : {report.failure}")
    report.after = policy_stats(context.settings, identifier, policy)
    report.seconds = time.monotonic() - started
    out(f"{identifier} — après : {report.after.line()} ({seconds(report.seconds)})")
    return report


def _record(context: Context, identifier: str, policy: TablePolicy, out: Reporter, orphans_checked: bool) -> None:
    try:
        record_maintained(context.settings, identifier, policy, context.now, orphans_checked)
    except Exception as error:  # the next run maintains the table again: worth a line, not a failure
        out(f"  (maintenance non enregistrée dans les propriétés de la table : {first_line(error)})")


def run_maintenance(
    spark,
    settings: Settings,
    jobs: list[str],
    table: str | None = None,
    apply: bool = False,
    now: datetime | None = None,
    policy: MaintenancePolicy | None = None,
    out: Reporter = print,
    skip: Mapping[str, str] | None = None,
    only: Mapping[str, tuple[str, ...]] | None = None,
) -> list[TableReport]:
    """Run `jobs` (in the safe order) on one table or on every maintained table; raise MaintenanceFailed
    at the end if any table failed.

    `skip` maps tables to leave alone to the reason shown (`maintenance_due`: unchanged since their last
    maintenance); `only` maps tables to the subset of `jobs` they are due for (`maintenance_due`: every
    job that has work, without the orphan search while the last one is recent). A table maintained without
    failure with every job, or with the jobs `only` gave it, gets its maintenance recorded
    (`record_maintained`), which is what lets a later run skip it from its metadata alone.
    """
    unknown = [job for job in jobs if job not in JOBS]
    if unknown:
        raise ValueError(f"unknown maintenance jobs: {unknown}")
    jobs = [job for job in JOBS if job in jobs]
    policy = policy or load_policy(settings.maintenance_policy_file)
    context = Context(now=now or datetime.now(UTC), apply=apply, settings=settings)
    identifiers = [check_table(spark, table)] if table else list_tables(spark, settings.maintenance_namespaces)
    if not identifiers:
        out(f"aucune table dans {', '.join(settings.maintenance_namespaces)}")
    reports, failures = [], []
    for identifier in identifiers:
        if identifier in (skip or {}):
            out(f"{identifier} — sautée : {skip[identifier]}")
            continue
        table_policy = policy.for_table(identifier)
        table_jobs = [job for job in jobs if job in (only or {}).get(identifier, jobs)]
        try:
            report = maintain_table(spark, identifier, table_policy, table_jobs, context, out)
        except Exception as error:  # the table's metadata could not even be read: report it, go on
            failures.append((identifier, describe_failure(error)))
            out(f"{identifier} — ÉCHEC : {failures[-1][1]}")
            continue
        reports.append(report)
        fault_point("maintain-table-done")
        if report.failure:
            failures.append((identifier, report.failure))
        elif table_jobs == list(JOBS):
            _record(context, identifier, table_policy, out, orphans_checked=True)
        elif identifier in (only or {}) and jobs == list(JOBS):
            _record(context, identifier, table_policy, out, orphans_checked=ORPHAN_JOB in table_jobs)
    if failures:
        raise MaintenanceFailed("maintenance en échec pour " + "; ".join(f"{name} : {why}" for name, why in failures))
    return reports
