"""The rows of a lake's tables, compared as multisets: two builds of the same landed files must agree, apart
from the columns that record when, in which batch or by which run a row was registered or validated."""

from __future__ import annotations

from collections import Counter

# Columns that say when, in which batch or by which run a row was registered or validated: they differ
# between any two runs.
RUN_COLUMNS = {
    "_batch_id",
    "_registered_at",
    "batch_id",
    "registered_at",
    "snapshot_id",
    "_bronze_registered_at",
    "_evenement_enregistre_le",
    "_utilisateur_enregistre_le",
    "run_id",
    "validated_at",
    "branch",
    # a dbt snapshot's version columns: the build that saw each version (dbt/snapshots/)
    "dbt_scd_id",
    "dbt_updated_at",
    "dbt_valid_from",
    "dbt_valid_to",
}


def table_rows(catalog, identifier, ignored: set[str] = RUN_COLUMNS) -> Counter:
    """Every row of the table (pyiceberg, current snapshot), without the `ignored` columns, as a multiset."""
    table = catalog.load_table(identifier).scan().to_arrow()
    kept = [name for name in table.column_names if name not in ignored]
    return Counter(tuple(repr(row[name]) for name in kept) for row in table.select(kept).to_pylist())


def every_snapshot(settings) -> dict[str, list[int]]:
    """The snapshot ids of every table of every namespace of the catalog: what a run that writes nothing leaves."""
    from lakehouse.core.clients import iceberg_catalog

    catalog = iceberg_catalog(settings)
    return {
        ".".join(identifier): [s.snapshot_id for s in catalog.load_table(identifier).snapshots()]
        for (namespace,) in catalog.list_namespaces()
        for identifier in catalog.list_tables(namespace)
    }
