"""Iceberg branches for Write-Audit-Publish: audit branches created and dropped through pyiceberg,
and the publication of many tables in one catalog transaction (REST `transactions/commit`).

A publication moves `main` of every table to the head of its audit branch, each move guarded by
`main` still being where the audit started: the catalog applies all of them or none, so a reader
never sees a half-published layer, and a concurrent writer makes the publication fail instead of
being overwritten.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests

from lakehouse.core.clients import HTTP_TIMEOUT, ServiceUnavailable, catalog_config, catalog_token
from lakehouse.core.errors import LakehouseError
from lakehouse.core.settings import Settings

AUDIT_PREFIX = "audit_"
# Table property that makes Spark's `spark.wap.branch` apply to a table's writes: without it, writes
# made with the session setting would silently go to main.
WAP_PROPERTY = "write.wap.enabled"
_AUDIT_NAME = re.compile(r"^audit_(\d{8}_\d{6})$")


class PublicationRefused(LakehouseError):
    """The catalog refused the publication (main moved meanwhile, or the catalog is unreachable)."""


@dataclass(frozen=True)
class RefMove:
    """Move `main` of namespace.name from `expected` (None: main must not exist) to `target`."""

    namespace: str
    name: str
    expected: int | None
    target: int

    @property
    def table(self) -> str:
        return f"{self.namespace}.{self.name}"


def new_audit_branch(now: datetime | None = None) -> str:
    return AUDIT_PREFIX + (now or datetime.now(UTC)).strftime("%Y%m%d_%H%M%S")


def audit_branch_time(name: str) -> datetime | None:
    """When an audit branch was created, read from its name (None for another branch)."""
    match = _AUDIT_NAME.match(name)
    return datetime.strptime(match.group(1), "%Y%m%d_%H%M%S").replace(tzinfo=UTC) if match else None


def ref_snapshot(table: Any, ref: str) -> int | None:
    snapshot_ref = table.metadata.refs.get(ref)
    return snapshot_ref.snapshot_id if snapshot_ref else None


def prepare_for_audit(table: Any, branch: str) -> int | None:
    """Let `spark.wap.branch` write to this table and branch it from main; return main's snapshot id
    (None for a table without snapshot, which cannot be branched)."""
    if table.properties.get(WAP_PROPERTY) != "true":
        with table.transaction() as transaction:
            transaction.set_properties({WAP_PROPERTY: "true"})
        table = table.refresh()
    main = ref_snapshot(table, "main")
    if main is not None and branch not in table.metadata.refs:
        table.manage_snapshots().create_branch(main, branch).commit()
    return main


def drop_branch(table: Any, branch: str) -> bool:
    if branch not in table.metadata.refs:
        return False
    table.manage_snapshots().remove_branch(branch).commit()
    return True


def publish(settings: Settings, moves: list[RefMove]) -> None:
    """Move main of every table in one catalog transaction; raise PublicationRefused if refused."""
    try:
        commit_moves(settings, moves)
    except ConcurrentChange as error:
        raise PublicationRefused(
            f"publication refusée par le catalogue : une table a changé sur main pendant l'audit ({error}) ; "
            "relancez make run"
        ) from None


class ConcurrentChange(PublicationRefused):
    """`main` of a table is no longer where the caller read it: another writer committed meanwhile."""


def commit_moves(
    settings: Settings,
    moves: list[RefMove],
    drop_branch: str | None = None,
    unchanged: list[tuple[str, str, int | None]] = (),
) -> None:
    """In one catalog transaction, applied whole or not at all: move `main` of each table of `moves` from
    its `expected` snapshot to its `target` (and remove the branch `drop_branch` of those tables), while
    `main` of each (namespace, name, snapshot) of `unchanged` is still at that snapshot. Raise
    ConcurrentChange (HTTP 409) when any `main` moved meanwhile, PublicationRefused for another refusal."""
    if not moves:
        return
    prefix = catalog_config(settings).get("overrides", {}).get("prefix")
    url = (
        f"{settings.catalog_uri}/v1/{prefix}/transactions/commit"
        if prefix
        else (f"{settings.catalog_uri}/v1/transactions/commit")
    )
    headers = {"Authorization": f"Bearer {catalog_token(settings)}"} if settings.catalog_auth == "oauth2" else {}
    changes = [
        {
            "identifier": {"namespace": [move.namespace], "name": move.name},
            "requirements": [{"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": move.expected}],
            "updates": [
                {"action": "set-snapshot-ref", "ref-name": "main", "type": "branch", "snapshot-id": move.target}
            ]
            + ([{"action": "remove-snapshot-ref", "ref-name": drop_branch}] if drop_branch else []),
        }
        for move in moves
    ]
    changes += [
        {
            "identifier": {"namespace": [namespace], "name": name},
            "requirements": [{"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": expected}],
            "updates": [],
        }
        for namespace, name, expected in unchanged
    ]
    try:
        response = requests.post(url, json={"table-changes": changes}, headers=headers, timeout=HTTP_TIMEOUT)
    except requests.RequestException as error:
        raise ServiceUnavailable(f"catalogue Iceberg REST injoignable sur {settings.catalog_uri} : {error}") from None
    if response.status_code == 409:
        raise ConcurrentChange(_error_message(response))
    if response.status_code >= 300:
        raise PublicationRefused(
            f"transaction refusée par le catalogue (HTTP {response.status_code} : {_error_message(response)})"
        )


def _error_message(response: requests.Response) -> str:
    try:
        return str(response.json()["error"]["message"])[:300]
    except (ValueError, KeyError, TypeError):
        return response.text.strip()[:300]
