"""A lake doubled as two overlapping runs left it before the write lock, then repaired.

The doubling of issue 30: every file registered by two batches (its rows twice in bronze, two ledger
entries). The no-Spark pre-check and `make reconcile` must fail naming the file, the table and the row
counts (never "OK"); `make repair` lists what it would do without touching anything, `APPLY=1` removes
the doubled rows and entries, registers again a file whose rows were lost, and leaves a lake that
reconciles.
"""

from __future__ import annotations

import pytest

from lakehouse_spark.reconcile import ReconciliationFailed, reconcile
from lakehouse_spark.register import register
from lakehouse_spark.register_precheck import nothing_to_register
from lakehouse_spark.repair import repair
from tests.cli_runner import run_cli
from tests.landing import land, users
from tests.private_lake import private_lake

pytestmark = pytest.mark.integration
STREAM = "raw_users"


def quiet(_line):
    return None


def _double(spark, namespace: str) -> None:
    """Register every file a second time, as the second of two overlapping runs did."""
    columns = [f"`{c}`" for c in spark.table(f"{namespace}.{STREAM}").columns if c != "_batch_id"]
    spark.sql(
        f"INSERT INTO {namespace}.{STREAM} ({', '.join(columns)}, _batch_id) "
        f"SELECT {', '.join(columns)}, concat(_batch_id, '-bis') FROM {namespace}.{STREAM}"
    )
    spark.sql(
        f"INSERT INTO {namespace}.ingestion_ledger SELECT object_key, etag, size, row_count, target_table, "
        f"snapshot_id, concat(batch_id, '-bis'), registered_at + INTERVAL 1 SECOND, recovered "
        f"FROM {namespace}.ingestion_ledger"
    )


def test_a_doubled_lake_is_detected_named_and_repaired(running_stack, spark, tmp_path):
    lake = private_lake(running_stack, spark, "rep")
    namespace = f"lakehouse.{lake.get('BRONZE_NAMESPACE')}"
    [first] = land(lake, STREAM, users(0, 30), tmp_path)
    [lost] = land(lake, STREAM, users(30, 10), tmp_path)
    register(spark, lake, [STREAM], quiet)
    _double(spark, namespace)
    spark.sql(f"DELETE FROM {namespace}.{STREAM} WHERE _source_object_key = '{lost}'")  # rows lost too
    assert spark.sql(f"SELECT count(*) FROM {namespace}.{STREAM}").collect()[0][0] == 60

    # The metadata pre-check no longer adds the duplicates up to an "OK": it names them.
    with pytest.raises(ReconciliationFailed) as refused:
        nothing_to_register(lake, [STREAM], quiet)
    assert f"{first} (ETag" in str(refused.value) and "inscrit 2 fois au registre" in str(refused.value)
    assert "30 lignes dans le fichier" in str(refused.value) and "make repair" in str(refused.value)
    lines: list[str] = []
    with pytest.raises(ReconciliationFailed):
        reconcile(spark, lake, [STREAM], out=lines.append)
    assert any(first in line and "inscrit 2 fois au registre" in line for line in lines), lines
    assert any(
        first in line and "enregistré 2 fois (30 lignes dans le fichier, 60 dans bronze)" in line for line in lines
    )
    assert any(lost in line and "10 lignes dans le fichier, 0 dans bronze" in line for line in lines), lines

    # Dry run: the actions, nothing changed.
    before = spark.sql(f"SELECT snapshot_id FROM {namespace}.{STREAM}.refs WHERE name = 'main'").collect()
    lines.clear()
    plan = repair(spark, lake, [STREAM], out=lines.append)
    assert {action.kind for action in plan.actions} == {"doubled_entries", "doubled_rows", "reregister"}
    assert "essai à blanc" in lines[0] and any("30 lignes en double retirées" in line for line in lines), lines
    assert spark.sql(f"SELECT snapshot_id FROM {namespace}.{STREAM}.refs WHERE name = 'main'").collect() == before

    applied = run_cli(
        "repair",
        STREAM,
        "--apply",
        LAKEHOUSE_LANDING_BUCKET=lake.landing_bucket,
        LAKEHOUSE_BRONZE_NAMESPACE=lake.get("BRONZE_NAMESPACE"),
    )
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "raw_users: OK — 2 fichiers déposés = 2 enregistrés + 0 en quarantaine ; 40 lignes" in applied.stdout
    ids = spark.sql(f"SELECT count(*), count(DISTINCT user_id) FROM {namespace}.{STREAM}").collect()[0]
    assert tuple(ids) == (40, 40)
    entries = spark.sql(f"SELECT object_key, count(*) FROM {namespace}.ingestion_ledger GROUP BY 1").collect()
    assert sorted(tuple(row) for row in entries) == sorted([(first, 1), (lost, 1)])
    assert nothing_to_register(lake, [STREAM], quiet) is not None  # the pre-check says OK again, rightly
    lines.clear()
    repair(spark, lake, [STREAM], out=lines.append)
    assert lines == ["rien à réparer : chaque fichier est au registre une fois et ses lignes sont dans bronze une fois"]
