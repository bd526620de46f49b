"""Iceberg maintenance on the real stack: compaction, snapshot expiry, orphan files, rollback, and a
compaction racing an append. Each test works on its own table in a scratch namespace."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from lakehouse.core.clients import iceberg_catalog, s3_client
from lakehouse.core.maintenance_policy import MaintenancePolicy, load_policy
from lakehouse.core.settings import PROJECT_ROOT
from lakehouse_spark.maintenance import JOBS, run_maintenance
from lakehouse_spark.maintenance_due import decide
from lakehouse_spark.recovery import RollbackRefused, history, rollback
from lakehouse_spark.table_health import table_health

pytestmark = pytest.mark.integration


def policy(**overrides) -> MaintenancePolicy:
    """The project's policy defaults for every table, with `overrides`."""
    base = load_policy(PROJECT_ROOT / "conf" / "maintenance.toml")
    return MaintenancePolicy(path=base.path, defaults={**base.defaults, **overrides}, namespaces={}, tables={})


@pytest.fixture(scope="module")
def namespace(spark):
    name = f"maint_{uuid.uuid4().hex[:8]}"
    spark.sql(f"CREATE NAMESPACE lakehouse.{name}")
    return name


def small_files_table(spark, namespace: str, name: str, files: int, rows_per_file: int = 100) -> str:
    """A table of `files` small data files written in one commit."""
    identifier = f"{namespace}.{name}"
    spark.sql(f"CREATE TABLE {identifier} (id BIGINT, pays STRING, valeur DOUBLE) USING iceberg")
    data = spark.range(files * rows_per_file).selectExpr(
        "id", "element_at(array('BEN','CIV','SEN','TGO'), cast(id % 4 as int) + 1) as pays", "id * 1.5 as valeur"
    )
    data.repartition(files).writeTo(identifier).append()
    return identifier


def checksum(spark, relation: str) -> tuple:
    return tuple(spark.sql(f"SELECT count(*), sum(xxhash64(id, pays, valeur)) FROM {relation}").collect()[0])


def data_files(spark, identifier: str) -> int:
    return spark.sql(f"SELECT count(*) FROM {identifier}.files").collect()[0][0]


def current_snapshot(spark, identifier: str) -> int:
    return spark.sql(f"SELECT snapshot_id FROM {identifier}.refs WHERE name = 'main'").collect()[0][0]


def quiet(_line: str) -> None:
    pass


def test_compaction_reaches_the_target_and_keeps_rows_and_time_travel(spark, running_stack, namespace):
    identifier = small_files_table(spark, namespace, "compact", files=60)
    before_snapshot, before_sum = current_snapshot(spark, identifier), checksum(spark, identifier)
    assert data_files(spark, identifier) == 60

    lines: list[str] = []
    [report] = run_maintenance(spark, running_stack, ["compact"], table=identifier, policy=policy(), out=lines.append)

    assert report.before.data_files == 60 and report.after.data_files == 1, lines
    assert report.after.records == report.before.records == 6000
    assert checksum(spark, identifier) == before_sum
    assert any("60 fichiers réécrits en 1" in line for line in lines), lines
    assert any(line.startswith(f"{identifier} — avant : 60 fichiers") for line in lines)
    # time travel to the pre-compaction snapshot still reads the 60 old files (not expired yet)
    old = spark.sql(f"SELECT count(DISTINCT _file) FROM {identifier} VERSION AS OF {before_snapshot}").collect()[0][0]
    assert old == 60
    assert checksum(spark, f"{identifier} VERSION AS OF {before_snapshot}") == before_sum


def test_expiry_keeps_retain_last_and_every_file_they_reference(spark, running_stack, namespace):
    identifier = small_files_table(spark, namespace, "expire", files=6)
    for i in range(5):
        spark.sql(f"INSERT INTO {identifier} VALUES ({10_000 + i}, 'MLI', {i}.5)")
    run_maintenance(spark, running_stack, ["compact"], table=identifier, policy=policy(), out=quiet)
    expected = checksum(spark, identifier)
    assert len(history(spark, identifier)) == 7

    later = datetime.now(UTC) + timedelta(hours=2)  # every snapshot is now older than 1 h
    [report] = run_maintenance(
        spark,
        running_stack,
        ["expire-snapshots"],
        table=identifier,
        now=later,
        policy=policy(snapshot_max_age_hours=1, retain_last=3),
        out=quiet,
    )

    kept = history(spark, identifier)
    assert len(kept) == 3 and report.after.snapshots == 3
    assert checksum(spark, identifier) == expected
    s3 = s3_client(running_stack)
    for snapshot in kept:  # every file a kept snapshot references is still there and readable
        paths = [
            r[0]
            for r in spark.sql(
                f"SELECT file_path FROM {identifier}.files VERSION AS OF {snapshot.snapshot_id}"
            ).collect()
        ]
        for path in paths:
            bucket, key = path.split("://", 1)[1].split("/", 1)
            s3.head_object(Bucket=bucket, Key=key)
        spark.sql(f"SELECT count(*) FROM {identifier} VERSION AS OF {snapshot.snapshot_id}").collect()


def test_orphan_removal_is_a_dry_run_by_default_and_spares_fresh_files(spark, running_stack, namespace):
    identifier = small_files_table(spark, namespace, "orphans", files=3)
    location = spark.sql(f"DESCRIBE TABLE EXTENDED {identifier}").where("col_name = 'Location'").collect()[0][1]
    bucket, prefix = location.split("://", 1)[1].split("/", 1)
    s3 = s3_client(running_stack)
    old_key, fresh_key = f"{prefix}/data/orphelin-ancien.parquet", f"{prefix}/data/orphelin-recent.parquet"
    s3.put_object(Bucket=bucket, Key=old_key, Body=b"not referenced by any snapshot")
    time.sleep(2.5)
    window_start = datetime.now(UTC)
    time.sleep(2.5)
    s3.put_object(Bucket=bucket, Key=fresh_key, Body=b"written by a commit still in progress")
    # A clock 24 h after `window_start`: the old orphan is past the 24 h window, the fresh file is not.
    now = window_start + timedelta(hours=24)
    rows = checksum(spark, identifier)

    [dry] = run_maintenance(
        spark,
        running_stack,
        ["remove-orphans"],
        table=identifier,
        now=now,
        policy=policy(orphan_min_age_hours=24),
        out=quiet,
    )
    assert [path.rsplit("/", 1)[1] for path in dry.orphans] == ["orphelin-ancien.parquet"]
    s3.head_object(Bucket=bucket, Key=old_key)  # dry run: nothing deleted

    [applied] = run_maintenance(
        spark,
        running_stack,
        ["remove-orphans"],
        table=identifier,
        now=now,
        apply=True,
        policy=policy(orphan_min_age_hours=24),
        out=quiet,
    )
    assert [path.rsplit("/", 1)[1] for path in applied.orphans] == ["orphelin-ancien.parquet"]
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix=old_key)
    s3.head_object(Bucket=bucket, Key=fresh_key)
    assert checksum(spark, identifier) == rows


def test_rollback_restores_the_previous_content(spark, namespace):
    identifier = small_files_table(spark, namespace, "rollback", files=2)
    good_snapshot, good = current_snapshot(spark, identifier), checksum(spark, identifier)
    time.sleep(1.1)
    between = datetime.now(UTC)
    time.sleep(1.1)
    spark.sql(f"DELETE FROM {identifier} WHERE pays = 'CIV'")
    assert checksum(spark, identifier) != good

    lines: list[str] = []
    rollback(spark, identifier, snapshot_id=good_snapshot, out=lines.append)
    assert checksum(spark, identifier) == good
    assert any("lignes : 150 → 200 (+50)" in line for line in lines), lines
    assert any("set_current_snapshot" in line for line in lines)

    spark.sql(f"DELETE FROM {identifier} WHERE pays = 'SEN'")
    rollback(spark, identifier, at=between, out=quiet)
    assert checksum(spark, identifier) == good
    with pytest.raises(RollbackRefused, match="inconnu"):
        rollback(spark, identifier, snapshot_id=123, out=quiet)


def test_compaction_racing_appends_loses_no_row(spark, running_stack, namespace):
    identifier = small_files_table(spark, namespace, "race", files=40)
    before = checksum(spark, identifier)[0]
    appended = threading.Event()
    errors: list[BaseException] = []

    def append_rows():
        try:
            for i in range(6):
                spark.sql(f"INSERT INTO {identifier} VALUES ({100_000 + i}, 'NER', 1.0)")
        except BaseException as error:  # reported by the assertion below
            errors.append(error)
        finally:
            appended.set()

    writer = threading.Thread(target=append_rows)
    writer.start()
    outcome: list = []
    try:
        outcome = run_maintenance(spark, running_stack, ["compact"], table=identifier, policy=policy(), out=quiet)
    except Exception as error:  # an unresolved conflict must be reported, never hidden
        assert "conflit" in str(error), error
    writer.join(timeout=300)
    assert appended.is_set() and not errors, errors
    assert checksum(spark, identifier)[0] == before + 6
    if outcome:
        assert outcome[0].failure is None
        assert data_files(spark, identifier) < 40 + 6


def test_table_health_reports_the_table_and_what_maintain_would_do(spark, running_stack, namespace):
    identifier = small_files_table(spark, namespace, "health", files=12)
    spark.sql(f"INSERT INTO {identifier} VALUES (99999, 'BEN', 1.0)")
    lines: list[str] = []
    [(stats, actions)] = table_health(spark, running_stack, table=identifier, policy=policy(), out=lines.append)
    assert (stats.snapshots, stats.data_files, stats.small_files, stats.records) == (2, 13, 13, 1201)
    assert actions == [
        "compacter 13 fichiers (partitions d'au moins 5 petits fichiers, cible 128 Mo)",
        "réécrire 2 manifestes",
    ]
    assert lines[0] == identifier and "2 snapshots" in lines[1] and "13 fichiers de données" in lines[1]
    assert data_files(spark, identifier) == 13  # read only


def test_a_table_unchanged_since_its_maintenance_is_skipped_until_something_is_due(spark, running_stack, namespace):
    identifier = small_files_table(spark, namespace, "due", files=2, rows_per_file=10)
    catalog = iceberg_catalog(running_stack)
    rules = policy(retain_last=2)
    table_rules, now = rules.for_table(identifier), datetime.now(UTC)

    def decision(at: datetime = now, rules=table_rules):
        return decide(catalog.load_table(identifier), identifier, rules, at)

    # never maintained, but younger than the orphan window: no file can be an orphan yet, and 2 small
    # files are no compaction: nothing due (a new lake's first run maintains only what has work)
    young = decision()
    assert not young.due and "jamais maintenue, créée il y a moins de" in young.reason, young
    old_enough = now + timedelta(hours=table_rules.orphan_min_age_hours, minutes=1)
    assert decision(old_enough).jobs == tuple(JOBS) and "jamais" in decision(old_enough).reason
    run_maintenance(spark, running_stack, ["compact"], table=identifier, policy=rules, out=quiet)
    assert decision(old_enough).due  # one job only: nothing recorded
    run_maintenance(spark, running_stack, list(JOBS), table=identifier, policy=rules, now=now, out=quiet)
    skipped = decision()
    assert not skipped.due and "inchangée depuis la maintenance" in skipped.reason, skipped
    assert catalog.load_table(identifier).current_snapshot().snapshot_id == current_snapshot(spark, identifier)
    # each deadline, and each change, makes it due again
    later = now + timedelta(hours=table_rules.orphan_min_age_hours, minutes=1)
    assert "orphelins" in decision(later).reason
    assert "politique" in decision(rules=policy(retain_last=3).for_table(identifier)).reason
    spark.sql(f"INSERT INTO {identifier} VALUES (999, 'NER', 1.0)")
    spark.sql(f"INSERT INTO {identifier} VALUES (1000, 'NER', 2.0)")
    # a new snapshot with no work (4 small files < 5, 3 manifests < 10, nothing old): skipped, and why
    idle = decision()
    assert not idle.due and "nouveau snapshot" in idle.reason and "rien à faire" in idle.reason, idle
    assert "au plus 4 petits fichiers" in idle.reason and "3 manifestes" in idle.reason, idle
    # the same table under a policy that rewrites manifests from 3: that job only
    assert decision(rules=policy(retain_last=2, min_manifests=3).for_table(identifier)).jobs == ("rewrite-manifests",)
    # a fifth small file: compaction, then its manifests; the orphan search is recent, so not that one
    spark.sql(f"INSERT INTO {identifier} VALUES (1001, 'NER', 3.0)")
    assert decision().jobs == ("compact", "rewrite-manifests"), decision()
    assert "5 petits fichiers" in decision().reason
    lines = []
    only = {identifier: decision().jobs}
    run_maintenance(
        spark, running_stack, list(JOBS), table=identifier, policy=rules, now=now, out=lines.append, only=only
    )
    assert not any("remove-orphans" in line for line in lines) and any("rewrite-manifests" in line for line in lines)
    assert data_files(spark, identifier) == 1
    assert not decision().due and "inchangée depuis la maintenance" in decision().reason  # recorded
    assert decision(later).due and decision(later).jobs == tuple(JOBS) and "orphelins" in decision(later).reason
    expiry = now + timedelta(hours=table_rules.snapshot_max_age_hours, minutes=1)
    assert "expiration" in decision(expiry).reason  # 3 snapshots kept > retain_last 2
    # a skipped table is named with its reason, and nothing is written to it
    lines: list[str] = []
    before = current_snapshot(spark, identifier)
    assert (
        run_maintenance(
            spark,
            running_stack,
            list(JOBS),
            table=identifier,
            policy=rules,
            out=lines.append,
            skip={identifier: skipped.reason},
        )
        == []
    )
    assert lines == [f"{identifier} — sautée : {skipped.reason}"] and current_snapshot(spark, identifier) == before
