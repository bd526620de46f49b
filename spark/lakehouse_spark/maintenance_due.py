"""Which tables the daily maintenance must look at, decided from Iceberg metadata (pyiceberg), without Spark.

When a table has been maintained with every job and without failure, `record_maintained` writes what
held then into one table property, `lakehouse.maintenance.last`: the current snapshot id, the time, and a
fingerprint of the table's policy. This is a metadata commit; it creates no snapshot.

`maintenance_due` skips a table without reading more than its metadata file when all of these hold:
- its current snapshot is still the one maintained: nothing was written since, so there is nothing new
  to compact and no new manifest;
- its policy is unchanged (same fingerprint);
- no snapshot has become old enough to expire. The rule is the one the expire job applies: more than
  `retain_last` snapshots, and the oldest one before `now - snapshot_max_age_hours`;
- the last orphan check is less than `orphan_min_age_hours` old. A file orphaned since then (by a failed
  write) cannot be removed before it reaches that age anyway.

A table never maintained, or whose property is unreadable, is due for every job once it is older than
`orphan_min_age_hours`; so is a table whose last orphan check is older than the window. A younger table
never maintained (a new lake's first runs) is looked at like a changed one, from its manifests: none of
its files can be old enough for the orphan search to remove it (files its location held before the table
was created, left by a dropped table, wait until the table itself has that age). Otherwise, when its
snapshot or its policy changed or snapshots can expire, its manifests are read (`pending_jobs`) and the
table is due only for the jobs that have work:
- compact: a partition holds at least `min_input_files` data files under 75 % of the target size (the
  files rewrite_data_files would rewrite, the rule of the compact job itself);
- rewrite-manifests (when the policy enables it): after a compaction, or once the table has
  `min_manifests` manifests. Every write adds one; rewriting them after each daily write would add a
  snapshot per table per day for no gain (`make maintain` still rewrites them from two);
- expire-snapshots: the rule above.
With no work, the table is skipped with what was checked; the orphan search is not run either, and the
property keeps the time of the last one (`orphans_at`).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pyiceberg.manifest import DataFileContent, ManifestContent

from lakehouse.core.clients import iceberg_catalog
from lakehouse.core.maintenance_policy import MaintenancePolicy, TablePolicy
from lakehouse.core.settings import Settings
from lakehouse_spark.table_stats import live_files

PROPERTY = "lakehouse.maintenance.last"
ALL_JOBS = ("compact", "rewrite-manifests", "expire-snapshots", "remove-orphans")
ORPHAN_JOB = "remove-orphans"


@dataclass(frozen=True)
class Decision:
    identifier: str
    due: bool
    reason: str  # French, shown to the user
    jobs: tuple[str, ...] = ()  # the jobs due, in the order they run (empty when not due)
    # A table never maintained found with nothing due: recording that check (`record_maintained`, the orphan
    # search dated from the table's creation) lets the next runs skip it from its metadata file alone.
    record_check: bool = False


def policy_fingerprint(policy: TablePolicy) -> str:
    return hashlib.sha256(json.dumps(asdict(policy), sort_keys=True).encode()).hexdigest()[:16]


def _instant(milliseconds: int) -> datetime:
    return datetime.fromtimestamp(milliseconds / 1000, UTC)


def _expiry_due(table: Any, policy: TablePolicy, now: datetime) -> bool:
    snapshots = table.snapshots()
    cutoff = now - timedelta(hours=policy.snapshot_max_age_hours)
    return len(snapshots) > policy.retain_last and min(_instant(s.timestamp_ms) for s in snapshots) < cutoff


def pending_jobs(table: Any, policy: TablePolicy, now: datetime) -> tuple[dict[str, str], str]:
    """The jobs that have work on the table as it is now, each with why (French), in the order they run,
    read from its manifests; and, for a table with none, one French line saying what was checked."""
    current = table.current_snapshot()
    candidates: Counter = Counter()
    manifests = current.manifests(table.io) if current else []
    threshold = policy.target_file_size_bytes * 3 // 4
    data_manifests = [manifest for manifest in manifests if manifest.content == ManifestContent.DATA]
    for partition, data_file in live_files(table, data_manifests):
        if data_file.content == DataFileContent.DATA and data_file.file_size_in_bytes < threshold:
            candidates[partition] += 1
    most = max(candidates.values(), default=0)
    jobs = {}
    if most >= policy.min_input_files:
        jobs["compact"] = f"une partition a {most} petits fichiers (compaction à partir de {policy.min_input_files})"
    if policy.rewrite_manifests and (jobs or len(manifests) >= policy.min_manifests):
        count = f"{len(manifests)} manifestes (réécriture à partir de {policy.min_manifests})"
        jobs["rewrite-manifests"] = "après la compaction" if jobs else count
    if _expiry_due(table, policy, now):
        jobs["expire-snapshots"] = "des snapshots ont atteint l'âge d'expiration"
    checked = (
        f"au plus {most} petits fichiers par partition (compaction à partir de {policy.min_input_files}), "
        f"{len(manifests)} manifestes (réécriture à partir de {policy.min_manifests}), aucun snapshot à expirer"
    )
    return jobs, checked


def decide(table: Any, identifier: str, policy: TablePolicy, now: datetime) -> Decision:
    """Due or not, which jobs, and why, for one pyiceberg table."""
    try:
        last = json.loads(table.properties.get(PROPERTY, "null"))
        maintained_snapshot, maintained_at = last["snapshot_id"], datetime.fromisoformat(last["at"])
        fingerprint = last["policy"]
        orphans_at = datetime.fromisoformat(last.get("orphans_at", last["at"]))
    except (TypeError, KeyError, ValueError):
        return _never_maintained(table, identifier, policy, now)
    orphans_due = orphans_at + timedelta(hours=policy.orphan_min_age_hours)
    changes = []
    current = table.current_snapshot()
    if (current.snapshot_id if current else None) != maintained_snapshot:
        changes.append("nouveau snapshot depuis la dernière maintenance")
    if fingerprint != policy_fingerprint(policy):
        changes.append("politique de maintenance modifiée")
    expiry = ["des snapshots ont atteint l'âge d'expiration"] if _expiry_due(table, policy, now) else []
    if now >= orphans_due:
        orphans = f"dernière recherche d'orphelins il y a plus de {policy.orphan_min_age_hours} h"
        return Decision(identifier, True, (changes + expiry + [orphans])[0], ALL_JOBS)
    next_orphans = f"prochaine recherche d'orphelins après le {orphans_due:%Y-%m-%d %H:%M} UTC"
    if not changes and not expiry:
        return Decision(
            identifier,
            False,
            f"inchangée depuis la maintenance du {maintained_at:%Y-%m-%d %H:%M} UTC "
            f"({f'snapshot {maintained_snapshot}' if maintained_snapshot else 'aucun snapshot'}) ; {next_orphans}",
        )
    jobs, checked = pending_jobs(table, policy, now)
    if not jobs:
        return Decision(identifier, False, f"{changes[0]}, mais rien à faire : {checked} ; {next_orphans}")
    why = "; ".join(f"{job} : {reason}" for job, reason in jobs.items())
    return Decision(
        identifier,
        True,
        f"{changes[0] + ' — ' if changes else ''}{why} ; recherche d'orphelins sautée jusqu'au "
        f"{orphans_due:%Y-%m-%d %H:%M} UTC",
        tuple(job for job in ALL_JOBS if job in jobs),
    )


def created_at(table: Any) -> datetime:
    """When the table was created: its oldest metadata log entry or snapshot."""
    stamps = [entry.timestamp_ms for entry in table.metadata.metadata_log]
    stamps += [snapshot.timestamp_ms for snapshot in table.snapshots()]
    return _instant(min([*stamps, table.metadata.last_updated_ms]))


def _never_maintained(table: Any, identifier: str, policy: TablePolicy, now: datetime) -> Decision:
    orphans_due = created_at(table) + timedelta(hours=policy.orphan_min_age_hours)
    if now >= orphans_due:
        return Decision(identifier, True, "jamais maintenue par make maintain", ALL_JOBS)
    young = (
        f"jamais maintenue, créée il y a moins de {policy.orphan_min_age_hours} h : aucun fichier ne peut être "
        f"orphelin avant le {orphans_due:%Y-%m-%d %H:%M} UTC"
    )
    jobs, checked = pending_jobs(table, policy, now)
    if not jobs:
        return Decision(identifier, False, f"{young} ; rien à faire : {checked}", record_check=True)
    why = "; ".join(f"{job} : {reason}" for job, reason in jobs.items())
    return Decision(identifier, True, f"{young} — {why}", tuple(job for job in ALL_JOBS if job in jobs))


def maintenance_due(settings: Settings, policy: MaintenancePolicy, now: datetime) -> list[Decision]:
    """One decision per table of the maintained namespaces (those that exist), sorted by identifier."""
    catalog = iceberg_catalog(settings)
    existing = {namespace[0] for namespace in catalog.list_namespaces()}
    decisions = []
    for namespace in settings.maintenance_namespaces:
        if namespace not in existing:
            continue
        for _, name in sorted(catalog.list_tables(namespace)):
            identifier = f"{namespace}.{name}"
            decisions.append(decide(catalog.load_table(identifier), identifier, policy.for_table(identifier), now))
    return sorted(decisions, key=lambda decision: decision.identifier)


def record_maintained(
    settings: Settings, identifier: str, policy: TablePolicy, now: datetime, orphans_checked: bool = True
) -> None:
    """Write `lakehouse.maintenance.last` for a table just maintained with every job, or with every job
    but the orphan search (`orphans_checked=False`: the time of the last orphan check is kept)."""
    table = iceberg_catalog(settings).load_table(identifier)
    current = table.current_snapshot()
    at = now.astimezone(UTC).isoformat(timespec="seconds")
    orphans_at = at
    if not orphans_checked:
        try:
            previous = json.loads(table.properties.get(PROPERTY, "null"))
            orphans_at = previous.get("orphans_at", previous["at"])
        except (TypeError, KeyError, ValueError, AttributeError):
            # never checked: its creation stands for the last check (no file of it can be older)
            orphans_at = created_at(table).isoformat(timespec="seconds")
    value = {
        "snapshot_id": current.snapshot_id if current else None,
        "at": at,
        "orphans_at": orphans_at,
        "policy": policy_fingerprint(policy),
    }
    with table.transaction() as transaction:
        transaction.set_properties({PROPERTY: json.dumps(value)})
