"""Which tables the daily maintenance must look at, decided from Iceberg metadata (pyiceberg), without Spark.

When a table has been maintained with every job and without failure, `record_maintained` writes what
held then into one table property, `lakehouse.maintenance.last`: the current snapshot id, the time, and a
fingerprint of the table's policy. This is a metadata commit; it creates no snapshot.

`maintenance_due` skips a table only when all of these hold:
- its current snapshot is still the one maintained: nothing was written since, so there is nothing new
  to compact and no new manifest;
- its policy is unchanged (same fingerprint);
- no snapshot has become old enough to expire. The rule is the one the expire job applies: more than
  `retain_last` snapshots, and the oldest one before `now - snapshot_max_age_hours`;
- the last orphan check is less than `orphan_min_age_hours` old. A file orphaned since then (by a failed
  write) cannot be removed before it reaches that age anyway.

Every other table is due: never maintained, property unreadable, or any of the above changed. A table
due only because it has a new snapshot, a new policy or snapshots to expire, while its last orphan check
is still recent, is due for every job but the orphan search (`Decision.jobs`); the property keeps the
time of that last orphan check (`orphans_at`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from lakehouse.core.clients import iceberg_catalog
from lakehouse.core.maintenance_policy import MaintenancePolicy, TablePolicy
from lakehouse.core.settings import Settings

PROPERTY = "lakehouse.maintenance.last"
ALL_JOBS = ("compact", "rewrite-manifests", "expire-snapshots", "remove-orphans")
ORPHAN_JOB = "remove-orphans"
WITHOUT_ORPHANS = tuple(job for job in ALL_JOBS if job != ORPHAN_JOB)


@dataclass(frozen=True)
class Decision:
    identifier: str
    due: bool
    reason: str  # French, shown to the user
    jobs: tuple[str, ...] = ()  # the jobs due, in the order they run (empty when not due)


def policy_fingerprint(policy: TablePolicy) -> str:
    return hashlib.sha256(json.dumps(asdict(policy), sort_keys=True).encode()).hexdigest()[:16]


def _instant(milliseconds: int) -> datetime:
    return datetime.fromtimestamp(milliseconds / 1000, UTC)


def decide(table: Any, identifier: str, policy: TablePolicy, now: datetime) -> Decision:
    """Due or not, which jobs, and why, for one pyiceberg table."""
    try:
        last = json.loads(table.properties.get(PROPERTY, "null"))
        maintained_snapshot, maintained_at = last["snapshot_id"], datetime.fromisoformat(last["at"])
        fingerprint = last["policy"]
        orphans_at = datetime.fromisoformat(last.get("orphans_at", last["at"]))
    except (TypeError, KeyError, ValueError):
        return Decision(identifier, True, "jamais maintenue par make maintain", ALL_JOBS)
    orphans_due = orphans_at + timedelta(hours=policy.orphan_min_age_hours)
    reasons = []
    current = table.current_snapshot()
    if (current.snapshot_id if current else None) != maintained_snapshot:
        reasons.append("nouveau snapshot depuis la dernière maintenance")
    if fingerprint != policy_fingerprint(policy):
        reasons.append("politique de maintenance modifiée")
    snapshots = table.snapshots()
    cutoff = now - timedelta(hours=policy.snapshot_max_age_hours)
    if len(snapshots) > policy.retain_last and min(_instant(s.timestamp_ms) for s in snapshots) < cutoff:
        reasons.append("des snapshots ont atteint l'âge d'expiration")
    if now >= orphans_due:
        reasons.append(f"dernière recherche d'orphelins il y a plus de {policy.orphan_min_age_hours} h")
        return Decision(identifier, True, reasons[0], ALL_JOBS)
    if reasons:
        later = f" ; recherche d'orphelins sautée jusqu'au {orphans_due:%Y-%m-%d %H:%M} UTC"
        return Decision(identifier, True, reasons[0] + later, WITHOUT_ORPHANS)
    return Decision(
        identifier,
        False,
        f"inchangée depuis la maintenance du {maintained_at:%Y-%m-%d %H:%M} UTC "
        f"({f'snapshot {maintained_snapshot}' if maintained_snapshot else 'aucun snapshot'}) ; "
        f"prochaine recherche d'orphelins après le {orphans_due:%Y-%m-%d %H:%M} UTC",
    )


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
            return  # no orphan check on record: the next run checks, and records then
    value = {
        "snapshot_id": current.snapshot_id if current else None,
        "at": at,
        "orphans_at": orphans_at,
        "policy": policy_fingerprint(policy),
    }
    with table.transaction() as transaction:
        transaction.set_properties({PROPERTY: json.dumps(value)})
