"""Bronze registration on the real stack: exactly once, quarantine, schema drift, crash recovery, reconciliation.

Files are landed with the ingestion's own writer and publisher (what `make ingest` lands),
or put as raw objects for the bad-input cases. Each test has its own landing bucket and
its own bronze namespace.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pytest

from lakehouse.core.faults import FAULT_VARIABLE, SimulatedCrash
from lakehouse_ingestion.lake_store import LakeStore
from lakehouse_spark import small_batches
from lakehouse_spark.bronze_job import run_register
from lakehouse_spark.reconcile import ReconciliationFailed, reconcile
from lakehouse_spark.register import BRANCH_PREFIX, register
from lakehouse_spark.register_precheck import nothing_to_register
from tests.cli_runner import run_cli
from tests.landing import SCHEMAS, indicators, land, parquet_bytes, put_raw, users
from tests.private_lake import private_lake

pytestmark = pytest.mark.integration


@pytest.fixture
def bronze(running_stack, spark):
    return private_lake(running_stack, spark, "reg")


def table(settings, stream):
    return f"lakehouse.{settings.get('BRONZE_NAMESPACE')}.{stream}"


def snapshots(spark, name):
    """The snapshots `main` of the table has pointed to, oldest first (a registration moves main once)."""
    return [
        r.snapshot_id for r in spark.sql(f"SELECT snapshot_id FROM {name}.history ORDER BY made_current_at").collect()
    ]


def quiet(_line):
    return None


def test_first_run_registers_everything_and_a_second_run_changes_nothing(bronze, spark, tmp_path):
    land(bronze, "indicateurs_economiques_uemoa", indicators(2023) + indicators(2024), tmp_path, parts=2)
    land(bronze, "raw_users", users(0, 30), tmp_path, parts=3)
    results = {r.stream: r for r in register(spark, bronze, ["indicateurs_economiques_uemoa", "raw_users"], quiet)}
    assert (results["indicateurs_economiques_uemoa"].files, results["indicateurs_economiques_uemoa"].rows) == (2, 16)
    assert (results["raw_users"].files, results["raw_users"].rows) == (3, 30)

    name = table(bronze, "indicateurs_economiques_uemoa")
    rows = spark.sql(f"SELECT * FROM {name}").collect()
    assert len(rows) == 16
    assert all(
        r._source_object_key.startswith("bronze/indicateurs_economiques_uemoa/")
        and r._source_etag
        and r._registered_at
        and r._airbyte_raw_id
        for r in rows
    )
    properties = dict(spark.sql(f"SHOW TBLPROPERTIES {name}").collect())
    assert properties["format-version"] == "2" and properties["write.parquet.compression-codec"] == "snappy"
    assert [r.partition.annee for r in spark.sql(f"SELECT partition FROM {name}.partitions ORDER BY 1").collect()] == [
        2023,
        2024,
    ]
    assert len(snapshots(spark, name)) == 1  # one commit for the two files

    before = {
        t: snapshots(spark, table(bronze, t))
        for t in ("indicateurs_economiques_uemoa", "raw_users", "ingestion_ledger")
    }
    again = {r.stream: r for r in register(spark, bronze, ["indicateurs_economiques_uemoa", "raw_users"], quiet)}
    assert all(r.files == 0 and r.rows == 0 for r in again.values())
    assert again["raw_users"].already_registered == 3
    assert {t: snapshots(spark, table(bronze, t)) for t in before} == before
    reconcile(spark, bronze, ["indicateurs_economiques_uemoa", "raw_users"], out=quiet)


def test_nothing_new_is_decided_without_spark_and_bronze_is_still_checked(bronze, spark, tmp_path):
    stream = "raw_users"
    land(bronze, stream, users(0, 12), tmp_path, parts=3)
    assert nothing_to_register(bronze, [stream], quiet) is None  # first run: no ledger yet
    register(spark, bronze, [stream], quiet)
    lines: list[str] = []
    [result] = run_register(bronze, [stream], lines.append)
    assert (result.files, result.already_registered) == (0, 3)
    assert lines[0] == "aucun nouveau fichier déposé : Spark n'est pas démarré", lines
    assert (
        "  raw_users: OK — 3 fichiers déposés = 3 enregistrés + 0 en quarantaine ; "
        "12 lignes dans bronze pour 12 attendues"
    ) in lines
    # a new file, then a bronze table that no longer matches its ledger: Spark runs
    land(bronze, stream, users(12, 2), tmp_path)
    assert nothing_to_register(bronze, [stream], quiet) is None
    register(spark, bronze, [stream], quiet)
    assert nothing_to_register(bronze, [stream], quiet) is not None
    spark.sql(f"DELETE FROM {table(bronze, stream)} WHERE user_id = 'u0000003'")
    assert nothing_to_register(bronze, [stream], quiet) is None
    lines.clear()
    with pytest.raises(ReconciliationFailed):
        run_register(bronze, [stream], lines.append)
    assert any("4 lignes dans le fichier, 3 dans bronze" in line for line in lines), lines
    # FULL=1: Spark runs even when nothing changed
    spark.sql(
        f"INSERT INTO {table(bronze, stream)} SELECT * FROM {table(bronze, stream)} VERSION AS OF "
        f"{snapshots(spark, table(bronze, stream))[-2]} WHERE user_id = 'u0000003'"
    )
    assert nothing_to_register(bronze, [stream], quiet) is not None
    lines.clear()
    run_register(bronze.with_values(LAKEHOUSE_FULL_RUN="true"), [stream], lines.append)
    assert "réconciliation :" in lines and not any("Spark n'est pas démarré" in line for line in lines)


def test_bad_files_go_to_quarantine_with_reasons_while_good_files_register(bronze, spark, tmp_path):
    land(bronze, "indicateurs_economiques_uemoa", indicators(2023), tmp_path)
    register(spark, bronze, ["indicateurs_economiques_uemoa"], quiet)
    land(bronze, "indicateurs_economiques_uemoa", indicators(2024), tmp_path)
    corrupt = put_raw(
        bronze, "indicateurs_economiques_uemoa", "2026_01_01_1_0.parquet", b"PAR1 ceci n'est pas du parquet"
    )
    empty = put_raw(bronze, "indicateurs_economiques_uemoa", "2026_01_01_2_0.parquet", b"")
    incompatible = put_raw(
        bronze,
        "indicateurs_economiques_uemoa",
        "2026_01_01_3_0.parquet",
        parquet_bytes(pa.table({"pays": ["MLI"], "annee": ["deux mille vingt-quatre"], "trimestre": [1]})),
    )
    lines = []
    [result] = register(spark, bronze, ["indicateurs_economiques_uemoa"], lines.append)
    assert (result.files, result.rows) == (1, 8)
    reasons = {key: reason for key, reason, _ in result.rejected}
    assert reasons == {corrupt: "parquet_illisible", empty: "fichier_vide", incompatible: "schema_incompatible"}
    assert any("annee" in line and "string" in line and "bigint" in line for line in lines), lines
    stored = spark.sql(f"SELECT object_key, reason, error_message FROM {table(bronze, 'rejected_files')}").collect()
    assert {r.object_key: r.reason for r in stored} == reasons and all(r.error_message for r in stored)
    assert spark.sql(f"SELECT count(*) FROM {table(bronze, 'indicateurs_economiques_uemoa')}").collect()[0][0] == 16

    [again] = register(spark, bronze, ["indicateurs_economiques_uemoa"], quiet)
    assert again.files == 0 and again.still_quarantined == 3 and not again.rejected
    [check] = reconcile(spark, bronze, ["indicateurs_economiques_uemoa"], out=quiet)
    assert (check.landed, check.registered, check.quarantined) == (5, 2, 3)


def test_schema_drift_adds_columns_fills_missing_ones_and_accepts_widening(bronze, spark, tmp_path):
    stream = "raw_users"
    land(bronze, stream, users(0, 5), tmp_path)
    register(spark, bronze, [stream], quiet)
    extended = dict(SCHEMAS[stream], properties={**SCHEMAS[stream]["properties"], "abonnement": {"type": "integer"}})
    land(bronze, stream, [dict(u, abonnement=3) for u in users(5, 5)], tmp_path, schema=extended)
    narrower = pa.table({"user_id": ["u9000001"], "email": [None], "abonnement": pa.array([7], pa.int32())})
    put_raw(bronze, stream, "2026_01_01_4_0.parquet", parquet_bytes(narrower))  # no Airbyte columns, int32
    [result] = register(spark, bronze, [stream], quiet)
    assert result.files == 2 and result.added_columns == ["abonnement"] and not result.rejected
    rows = {r.user_id: r for r in spark.sql(f"SELECT * FROM {table(bronze, stream)}").collect()}
    assert len(rows) == 11
    assert rows["u0000000"].abonnement is None and rows["u0000007"].abonnement == 3 and rows["u9000001"].abonnement == 7
    assert rows["u9000001"].pays is None and rows["u9000001"]._airbyte_raw_id is None
    column_types = dict((f.name, f.dataType.simpleString()) for f in spark.table(table(bronze, stream)).schema.fields)
    assert column_types["abonnement"] == "bigint"

    widened = pa.table({"user_id": ["u9000002"], "score": pa.array([1.5], pa.float32())})
    put_raw(bronze, stream, "2026_01_01_5_0.parquet", parquet_bytes(widened))
    register(spark, bronze, [stream], quiet)
    put_raw(
        bronze, stream, "2026_01_01_6_0.parquet", parquet_bytes(pa.table({"user_id": ["u9000003"], "score": [2.25]}))
    )
    [result] = register(spark, bronze, [stream], quiet)
    assert result.widened_columns == ["score"] and not result.rejected
    scores = dict(spark.sql(f"SELECT user_id, score FROM {table(bronze, stream)} WHERE score IS NOT NULL").collect())
    assert scores == {"u9000002": 1.5, "u9000003": 2.25}
    reconcile(spark, bronze, [stream], out=quiet)


def test_a_crash_before_the_transaction_leaves_nothing_visible_and_the_next_run_registers_all(
    bronze, spark, tmp_path, monkeypatch
):
    stream = "raw_users"
    land(bronze, stream, users(0, 40), tmp_path, parts=4)
    monkeypatch.setenv(FAULT_VARIABLE, "raise:register-branches-written")
    with pytest.raises(SimulatedCrash):
        register(spark, bronze, [stream], quiet)
    monkeypatch.delenv(FAULT_VARIABLE)
    # Rows and ledger entries were written on branches only: main of both is untouched.
    assert spark.sql(f"SELECT count(*) FROM {table(bronze, stream)}").collect()[0][0] == 0
    assert spark.sql(f"SELECT count(*) FROM {table(bronze, 'ingestion_ledger')}").collect()[0][0] == 0
    left = spark.sql(f"SELECT name FROM {table(bronze, stream)}.refs WHERE name LIKE '{BRANCH_PREFIX}%'").collect()
    assert len(left) == 1

    land(bronze, stream, users(40, 10), tmp_path)
    lines = []
    [result] = register(spark, bronze, [stream], lines.append)
    assert any("branche(s) d'un enregistrement interrompu supprimée(s)" in line for line in lines), lines
    assert (result.files, result.already_registered) == (5, 0)
    ids = [r.user_id for r in spark.sql(f"SELECT user_id FROM {table(bronze, stream)}").collect()]
    assert len(ids) == len(set(ids)) == 50
    for name in (stream, "ingestion_ledger"):
        refs = [r.name for r in spark.sql(f"SELECT name FROM {table(bronze, name)}.refs").collect()]
        assert refs == ["main"], refs
    reconcile(spark, bronze, [stream], out=quiet)


def test_a_ledger_commit_lost_by_an_earlier_version_is_recovered_from_the_snapshot_summaries(bronze, spark, tmp_path):
    """Before registrations committed data and ledger together, a crash between the two commits left data
    whose ledger entries were missing: the snapshot summaries of main tell which files they were."""
    stream = "raw_users"
    land(bronze, stream, users(0, 40), tmp_path, parts=4)
    register(spark, bronze, [stream], quiet)
    spark.sql(f"DELETE FROM {table(bronze, 'ingestion_ledger')}")  # the lost ledger commit
    land(bronze, stream, users(40, 10), tmp_path)
    lines = []
    [result] = register(spark, bronze, [stream], lines.append)
    assert any("reprise" in line and "4 fichiers" in line for line in lines), lines
    assert (result.files, result.already_registered) == (1, 4)
    ids = [r.user_id for r in spark.sql(f"SELECT user_id FROM {table(bronze, stream)}").collect()]
    assert len(ids) == len(set(ids)) == 50
    recovered = spark.sql(f"SELECT count(*) FROM {table(bronze, 'ingestion_ledger')} WHERE recovered").collect()[0][0]
    assert recovered == 4
    reconcile(spark, bronze, [stream], out=quiet)


def test_reconciliation_fails_when_bronze_loses_a_row_or_a_file_is_not_registered(bronze, spark, tmp_path):
    stream = "raw_users"
    [key] = land(bronze, stream, users(0, 6), tmp_path)
    register(spark, bronze, [stream], quiet)
    spark.sql(f"DELETE FROM {table(bronze, stream)} WHERE user_id = 'u0000003'")
    lines = []
    with pytest.raises(ReconciliationFailed):
        reconcile(spark, bronze, [stream], out=lines.append)
    assert any(key in line and "6 lignes dans le fichier, 5 dans bronze" in line for line in lines), lines

    [late] = land(bronze, stream, users(6, 2), tmp_path)
    lines.clear()
    with pytest.raises(ReconciliationFailed):
        reconcile(spark, bronze, [stream], out=lines.append)
    assert any(late in line and "ni enregistré ni en quarantaine" in line for line in lines), lines


def test_reconciliation_after_a_registration_counts_its_batch_and_still_sees_a_loss_elsewhere(bronze, spark, tmp_path):
    stream = "raw_users"
    [old] = land(bronze, stream, users(0, 6), tmp_path)
    register(spark, bronze, [stream], quiet)
    land(bronze, stream, users(6, 2), tmp_path)
    [result] = register(spark, bronze, [stream], quiet)
    [check] = reconcile(spark, bronze, [stream], out=quiet, batch_id=result.batch_id)
    assert (check.rows_expected, check.rows_found, check.differences) == (8, 8, [])

    # A row lost in a file of an earlier batch changes the total: every file is then counted and named.
    spark.sql(f"DELETE FROM {table(bronze, stream)} WHERE user_id = 'u0000003'")
    land(bronze, stream, users(8, 2), tmp_path)
    [result] = register(spark, bronze, [stream], quiet)
    lines = []
    with pytest.raises(ReconciliationFailed):
        reconcile(spark, bronze, [stream], out=lines.append, batch_id=result.batch_id)
    assert any(old in line and "6 lignes dans le fichier, 5 dans bronze" in line for line in lines), lines


def test_an_object_landed_again_with_new_content_is_a_new_file(bronze, spark, tmp_path):
    stream = "raw_users"
    key = put_raw(bronze, stream, "2026_01_01_7_0.parquet", parquet_bytes(pa.table({"user_id": ["u1", "u2"]})))
    register(spark, bronze, [stream], quiet)
    put_raw(bronze, stream, "2026_01_01_7_0.parquet", parquet_bytes(pa.table({"user_id": ["u1", "u2", "u3"]})))
    [result] = register(spark, bronze, [stream], quiet)
    assert result.relanded == [key] and result.rows == 3
    reconcile(spark, bronze, [stream], out=quiet)


def test_a_thousand_small_files_register_in_one_commit(bronze, spark, running_stack):
    stream = "raw_events"
    s3 = LakeStore(bronze).s3
    etags = {}
    for i in range(1000):
        columns = {
            "event_id": [f"e{i:06d}"],
            "user_id": ["u0000001"],
            "event_type": ["page_view"],
            "occurred_at": pa.array([datetime(2024, 1, 1 + i % 28, tzinfo=UTC)], pa.timestamp("us", tz="UTC")),
        }
        if i % 100 == 0:  # a column only some files have, as narrow as int32
            columns["rang"] = pa.array([i], pa.int32())
        key = f"bronze/{stream}/2026_01_01_{i}_0.parquet"
        put = s3.put_object(Bucket=bronze.landing_bucket, Key=key, Body=parquet_bytes(pa.table(columns)))
        etags[key] = put["ETag"].strip('"')
    [result] = register(spark, bronze, [stream], quiet)
    assert (result.files, result.rows) == (1000, 1000) and result.added_columns == [] and not result.rejected
    name = table(bronze, stream)
    assert len(snapshots(spark, name)) == 1
    assert spark.sql(f"SELECT count(DISTINCT event_id) FROM {name}").collect()[0][0] == 1000
    assert spark.sql(f"SELECT count(*) FROM {name}.partitions").collect()[0][0] == 28  # days(occurred_at)
    # The rows were gathered into one staging file (small_batches): each keeps the key and etag of its file.
    rows = spark.sql(f"SELECT event_id, rang, _source_object_key, _source_etag FROM {name}").collect()
    for row in rows:
        i = int(row.event_id[1:])
        assert row._source_object_key == f"bronze/{stream}/2026_01_01_{i}_0.parquet"
        assert row._source_etag == etags[row._source_object_key]
        assert row.rang == (i if i % 100 == 0 else None)
    staging = s3.list_objects_v2(Bucket=bronze.landing_bucket, Prefix=small_batches.STAGING_PREFIX + "/")
    assert staging.get("KeyCount", 0) == 0
    reconcile(spark, bronze, [stream], out=quiet)


def test_an_unreachable_catalog_fails_with_a_clear_message_and_non_zero_exit(running_stack):
    result = run_cli("register", LAKEHOUSE_CATALOG_URI="http://127.0.0.1:9")
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ERREUR : catalogue Iceberg ou S3 injoignable"), result.stderr[-2000:]
    assert "Traceback" not in result.stderr
