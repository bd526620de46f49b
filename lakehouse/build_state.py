"""Has anything silver and gold are built from changed since the last successful build of `make run`?

After `make run` has built silver and gold, and published them when the audit is on, `save_build_state`
writes `<state>/builds/last_build.json`. It records:
- the current snapshot of every bronze table (dbt's sources);
- a digest of the dbt project (models, macros, seeds, tests, `dbt_project.yml`, packages) and of the
  settings that say where dbt reads and writes;
- the main snapshot of every silver and gold table right after the build.

`unchanged_since_last_build` compares all of this with the lake as it is now. When everything is equal,
the same code on the same inputs would build the same tables, and those tables are still the ones it
built: no rollback, no write outside dbt. The dbt step is then skipped, and no snapshot appears in
silver or gold.

Snapshots that only rewrite files are not changes: compaction and manifest rewrites commit a `replace`
snapshot with the same rows. Any other difference means a build, and so does a missing or unreadable
state file or a catalog error.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from lakehouse.core.clients import iceberg_catalog
from lakehouse.core.files import write_private
from lakehouse.core.settings import Settings
from lakehouse.dbt_runner import DBT_DIR

PROJECT_PARTS = ("dbt_project.yml", "packages.yml", "package-lock.yml", "models", "macros", "seeds", "tests")
SETTINGS_READ_BY_DBT = ("CATALOG_NAME", "BRONZE_NAMESPACE", "AUDITED_NAMESPACES", "AUDIT")


def state_file(settings: Settings) -> Path:
    return settings.state_dir / "builds" / "last_build.json"


def project_digest(settings: Settings) -> str:
    """SHA-256 of the dbt project's files and of the settings that place its inputs and outputs."""
    digest = hashlib.sha256()
    for part in PROJECT_PARTS:
        path = DBT_DIR / part
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path] * path.is_file()
        for file in files:
            digest.update(str(file.relative_to(DBT_DIR)).encode() + b"\0" + file.read_bytes() + b"\0")
    for name in SETTINGS_READ_BY_DBT:
        digest.update(f"{name}={settings.get(name)}\0".encode())
    return digest.hexdigest()


def _snapshots(catalog: Any, namespaces: list[str]) -> dict[str, int | None]:
    found = {}
    for namespace in namespaces:
        if catalog.namespace_exists(namespace):
            for identifier in sorted(catalog.list_tables(namespace)):
                current = catalog.load_table(identifier).current_snapshot()
                found[".".join(identifier)] = current.snapshot_id if current else None
    return found


def save_build_state(settings: Settings) -> None:
    """Record the inputs and outputs of the build that just succeeded."""
    catalog = iceberg_catalog(settings)
    state = {
        "project": project_digest(settings),
        "sources": _snapshots(catalog, [settings.get("BRONZE_NAMESPACE")]),
        "outputs": _snapshots(catalog, settings.audited_namespaces),
    }
    write_private(state_file(settings), json.dumps(state, indent=2, sort_keys=True) + "\n")


def _same_rows(table: Any, recorded: int | None) -> bool:
    """The current snapshot is `recorded`, or descends from it through file rewrites only."""
    snapshot = table.current_snapshot()
    while snapshot is not None and snapshot.snapshot_id != recorded:
        operation = snapshot.summary.operation.value if snapshot.summary else None
        if operation != "replace" or snapshot.parent_snapshot_id is None:
            return False
        snapshot = table.snapshot_by_id(snapshot.parent_snapshot_id)
    return (snapshot.snapshot_id if snapshot else None) == recorded


def unchanged_since_last_build(settings: Settings) -> str | None:
    """A French sentence saying why no build is needed, or None when dbt must run."""
    try:
        state = json.loads(state_file(settings).read_text())
        if state["project"] != project_digest(settings):
            return None
        catalog = iceberg_catalog(settings)
        for group, namespaces in (
            ("sources", [settings.get("BRONZE_NAMESPACE")]),
            ("outputs", settings.audited_namespaces),
        ):
            recorded = state[group]
            if set(_snapshots(catalog, namespaces)) != set(recorded):
                return None  # a table appeared or disappeared
            for identifier, snapshot_id in recorded.items():
                if not _same_rows(catalog.load_table(identifier), snapshot_id):
                    return None
    except Exception:  # no state yet, unreadable, catalog trouble: build
        return None
    return (
        f"rien à construire : les {len(state['sources'])} tables bronze, le projet dbt et les "
        f"{len(state['outputs'])} tables silver et gold sont ceux de la dernière construction réussie "
        "(dbt non lancé ; FULL=1 pour reconstruire)"
    )
