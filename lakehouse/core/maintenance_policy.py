"""The Iceberg maintenance policy (`conf/maintenance.toml`): defaults, per-namespace and per-table values.

`load_policy(path)` validates the whole file once (unknown keys, types, bounds, and the 24-hour floor
of the orphan window) and raises `PolicyError` naming the file, the section and the key; then
`policy.for_table("bronze.raw_events")` gives the resolved `TablePolicy` of one table.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

from lakehouse.core.errors import LakehouseError
from lakehouse.core.toml_files import check_keys, read_toml

ORPHAN_FLOOR_HOURS = 24
STRATEGIES = ("binpack", "sort")


class PolicyError(LakehouseError):
    """The maintenance policy cannot be used as written."""


@dataclass(frozen=True)
class TablePolicy:
    target_file_size_mb: int
    min_input_files: int
    strategy: str
    small_file_mb: int
    snapshot_max_age_hours: int
    retain_last: int
    orphan_min_age_hours: int
    rewrite_manifests: bool
    min_manifests: int
    commit_retries: int
    audit_branch_max_age_hours: int

    @property
    def target_file_size_bytes(self) -> int:
        return self.target_file_size_mb * 1024 * 1024

    @property
    def small_file_bytes(self) -> int:
        return self.small_file_mb * 1024 * 1024


_TYPES = {f.name: (bool if f.type == "bool" else int if f.type == "int" else str) for f in fields(TablePolicy)}
_MINIMUMS = {
    "target_file_size_mb": 1,
    "min_input_files": 2,
    "small_file_mb": 1,
    "snapshot_max_age_hours": 1,
    "retain_last": 1,
    "orphan_min_age_hours": ORPHAN_FLOOR_HOURS,
    "commit_retries": 0,
    "min_manifests": 2,
    "audit_branch_max_age_hours": 1,
}


def _check_section(values: dict, where: str, complete: bool) -> dict:
    check_keys(values, _TYPES, where, PolicyError, complete)
    for key, value in values.items():
        expected = _TYPES[key]
        if type(value) is not expected:  # bool is an int subclass: compare exact types
            raise PolicyError(f"{where} : {key} = {value!r} doit être de type {expected.__name__}")
        if key == "orphan_min_age_hours" and value < ORPHAN_FLOOR_HOURS:
            raise PolicyError(
                f"{where} : orphan_min_age_hours = {value} refusé — la fenêtre des fichiers orphelins ne descend "
                f"jamais sous {ORPHAN_FLOOR_HOURS} h (une écriture en cours n'a pas encore référencé ses fichiers, "
                "les supprimer perdrait des données)"
            )
        if key in _MINIMUMS and value < _MINIMUMS[key]:
            raise PolicyError(f"{where} : {key} = {value} doit être au moins {_MINIMUMS[key]}")
        if key == "strategy" and value not in STRATEGIES:
            raise PolicyError(f"{where} : strategy = {value!r} (valeurs possibles : {', '.join(STRATEGIES)})")
    return values


@dataclass(frozen=True)
class MaintenancePolicy:
    path: Path
    defaults: dict
    namespaces: dict[str, dict]
    tables: dict[str, dict]

    def for_table(self, identifier: str) -> TablePolicy:
        """The resolved policy of `namespace.table` (defaults < namespace < table)."""
        namespace = identifier.split(".")[0]
        return TablePolicy(**{**self.defaults, **self.namespaces.get(namespace, {}), **self.tables.get(identifier, {})})


def load_policy(path: Path) -> MaintenancePolicy:
    document = read_toml(
        path, PolicyError, "politique de maintenance introuvable : {path} (réglage LAKEHOUSE_MAINTENANCE_POLICY)"
    )
    unknown = sorted(set(document) - {"defaults", "namespaces", "tables"})
    if unknown:
        raise PolicyError(f"{path} : section inconnue {', '.join(unknown)} (sections : defaults, namespaces, tables)")
    defaults = _check_section(document.get("defaults", {}), f"{path} [defaults]", complete=True)
    namespaces = {
        name: _check_section(values, f"{path} [namespaces.{name}]", complete=False)
        for name, values in document.get("namespaces", {}).items()
    }
    tables = {}
    for name, values in document.get("tables", {}).items():
        if name.count(".") != 1:
            raise PolicyError(f'{path} [tables."{name}"] : nommez la table « namespace.table »')
        tables[name] = _check_section(values, f'{path} [tables."{name}"]', complete=False)
    return MaintenancePolicy(path=path, defaults=defaults, namespaces=namespaces, tables=tables)
