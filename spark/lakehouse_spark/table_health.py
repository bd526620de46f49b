"""`make table-health`: per table, what it holds (snapshots, files, sizes, small files, delete files,
manifests, oldest snapshot) and what `make maintain` would do to it under the policy. Read only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lakehouse.core.maintenance_policy import MaintenancePolicy, TablePolicy, load_policy
from lakehouse.core.numbers import number
from lakehouse.core.reporting import Reporter
from lakehouse.core.settings import Settings
from lakehouse_spark.maintenance import Context, MaintenanceFailed, describe_failure, find_orphans, policy_stats
from lakehouse_spark.table_stats import TableStats, check_table, human_bytes, list_tables, qualified


def count_expirable(committed_at: list[datetime], policy: TablePolicy, now: datetime) -> int:
    """How many of the snapshots committed at these times are older than the policy's age and not
    among the `retain_last` newest (what expire_snapshots would remove)."""
    cutoff = now - timedelta(hours=policy.snapshot_max_age_hours)
    return sum(1 for moment in sorted(committed_at, reverse=True)[policy.retain_last :] if moment < cutoff)


def expirable_snapshots(spark, identifier: str, policy: TablePolicy, now: datetime) -> int:
    rows = spark.sql(f"select unix_millis(committed_at) as committed_ms from {qualified(spark, identifier)}.snapshots")
    moments = [datetime.fromtimestamp(row.committed_ms / 1000, UTC) for row in rows.collect()]
    return count_expirable(moments, policy, now)


def planned_actions(stats: TableStats, policy: TablePolicy, expirable: int, orphans: int) -> list[str]:
    actions = []
    if stats.compaction_candidates >= policy.min_input_files:
        actions.append(
            f"compacter {stats.compaction_candidates} fichiers (partitions d'au moins "
            f"{policy.min_input_files} petits fichiers, cible {policy.target_file_size_mb} Mo)"
        )
    if policy.rewrite_manifests and stats.manifests > 1:
        actions.append(f"réécrire {stats.manifests} manifestes")
    if expirable:
        actions.append(f"expirer {expirable} snapshots")
    if orphans:
        actions.append(f"{orphans} fichiers orphelins à supprimer (avec APPLY=1)")
    return actions or ["rien"]


def table_health(
    spark,
    settings: Settings,
    table: str | None = None,
    now: datetime | None = None,
    policy: MaintenancePolicy | None = None,
    out: Reporter = print,
) -> list[tuple[TableStats, list[str]]]:
    policy = policy or load_policy(settings.maintenance_policy_file)
    now = now or datetime.now(UTC)
    identifiers = [check_table(spark, table)] if table else list_tables(spark, settings.maintenance_namespaces)
    results, failures = [], []
    for identifier in identifiers:
        table_policy = policy.for_table(identifier)
        try:
            stats = policy_stats(settings, identifier, table_policy)
            expirable = expirable_snapshots(spark, identifier, table_policy, now)
            orphans = find_orphans(spark, identifier, table_policy, Context(now=now, apply=False, settings=settings))
        except Exception as error:  # one unreadable table does not hide the others
            failures.append(f"{identifier} : {describe_failure(error)}")
            out(f"{identifier}\n  ÉCHEC : {describe_failure(error)}")
            continue
        actions = planned_actions(stats, table_policy, expirable, len(orphans))
        age = (
            "-"
            if stats.oldest_snapshot_at is None
            else f"{number((now - stats.oldest_snapshot_at).total_seconds() / 3600, 1)} h"
        )
        out(f"{identifier}")
        out(
            f"  {stats.snapshots} snapshots (le plus ancien : {age}), {stats.data_files} fichiers de données, "
            f"{human_bytes(stats.data_bytes)}, moyenne {human_bytes(stats.average_file_bytes)}, "
            f"{stats.small_files} petits (< {table_policy.small_file_mb} Mo), "
            f"{stats.delete_files} fichiers de suppression, "
            f"{stats.manifests} manifestes, {number(stats.records)} lignes"
        )
        out(f"  maintain ferait : {'; '.join(actions)}")
        results.append((stats, actions))
    if failures:
        raise MaintenanceFailed("état illisible pour " + "; ".join(failures))
    return results
