"""Which earlier snapshot holds the same rows as a given one: Iceberg file rewrites keep the rows.

Compaction and manifest rewrites commit `replace` snapshots: other files, the same rows. The dbt build
plan (is a table still as the last build left it?) and the quality gate (did these rows already pass
their suite?) both walk back through such snapshots.
"""

from __future__ import annotations

from typing import Any


def same_rows_as(table: Any, snapshot_id: int | None, candidates: set[int]) -> int | None:
    """The snapshot of `candidates` whose rows `snapshot_id` holds: itself, or an ancestor it descends
    from through `replace` snapshots only; None when there is none (or `snapshot_id` is None)."""
    snapshot = table.snapshot_by_id(snapshot_id) if snapshot_id is not None else None
    while snapshot is not None:
        if snapshot.snapshot_id in candidates:
            return snapshot.snapshot_id
        operation = snapshot.summary.operation.value if snapshot.summary else None
        if operation != "replace" or snapshot.parent_snapshot_id is None:
            return None
        snapshot = table.snapshot_by_id(snapshot.parent_snapshot_id)
    return None
