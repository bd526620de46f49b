"""`make run` killed (SIGKILL) or broken in every step, then a plain `make run`: green, nothing lost, nothing
doubled, gold equal to a clean rebuild, no audit or registration branch and no staging file left; each
failure said once, in one French line, within LAKEHOUSE_SERVICE_TIMEOUT_S.

The chain itself is the `recovered_lake` fixture (`tests/faults/fixtures.py`). Then `make run` started while
`make maintain` runs waits for it (LAKEHOUSE_LOCK_WAIT_S), and both succeed.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from lakehouse.core.clients import iceberg_catalog, s3_client
from lakehouse.dbt_runner import dbt_command
from lakehouse.publication import AuditRecord
from lakehouse_spark import small_batches
from tests.faults.fixtures import NEW_DAY_EVENTS
from tests.lake_tables import table_rows
from tests.lakehouse_run import LakehouseRun, run_command

pytestmark = pytest.mark.integration


def _errors(run: LakehouseRun) -> list[str]:
    return [line for line in run.output().splitlines() if line.startswith("ERREUR")]


def _branches(settings) -> dict[str, list[str]]:
    """Refs other than main, per table of the lake."""
    catalog = iceberg_catalog(settings)
    found = {}
    for (namespace,) in catalog.list_namespaces():
        for identifier in catalog.list_tables(namespace):
            refs = [ref for ref in catalog.load_table(identifier).metadata.refs if ref != "main"]
            if refs:
                found[".".join(identifier)] = refs
    return found


def _keys(settings, prefix: str) -> list[str]:
    listing = s3_client(settings).list_objects_v2(Bucket=settings.landing_bucket, Prefix=prefix)
    return [item["Key"] for item in listing.get("Contents", [])]


def test_each_killed_run_is_taken_over_by_the_next_one_which_gets_further(recovered_lake):
    runs = recovered_lake.runs
    taken_over = "verrou d'écriture repris : `make run`"
    after_a_kill = ["jvm", "thrift", "maintain", "rag", "final"] + (["serve"] if "serve" in runs else [])
    for name in after_a_kill:  # the run before each of these was killed with SIGKILL
        assert taken_over in runs[name].output(), (name, runs[name].output()[-3000:])
    assert "reprise — synchronisation" in runs["jvm"].output() and "[2/7] ingest: OK" in runs["jvm"].output()
    assert "[3/7] register: OK" in runs["dbt"].output() and "[faute] pause" in runs["dbt"].output()
    # fct_events_enriched, created empty by the killed build, was never published: dropped, built whole.
    assert "gold.fct_events_enriched : jamais publiée" in runs["thrift"].output(), runs["thrift"].output()[-3000:]
    assert "publié avant l'arrêt de son processus" in runs["maintain"].output()
    assert "rien à construire" in runs["maintain"].output()  # the publication a killed run made is kept
    assert "[5/7] maintain: OK" in runs["rag"].output()
    final = runs["final"]
    assert final.process.returncode == 0, final.output()[-6000:]
    assert all(f"[{i}/7]" in final.output() for i in range(1, 8))
    # The second of the two runs started together with the new day: refused at once, naming the first.
    refused = runs["refused"]
    [line] = _errors(refused)
    assert refused.process.returncode == 1 and "le lac est déjà en cours d'écriture par `make run`" in line, line
    assert f"(PID {final.process.pid} sur" in line and refused.seconds < 30
    assert not recovered_lake.survivors, f"survivants du kill -9 de make run : {recovered_lake.survivors}"


def test_a_registration_jvm_killed_is_said_with_its_pid_and_signal(recovered_lake):
    [line] = _errors(recovered_lake.runs["jvm"])
    jvm = recovered_lake.killed["jvm"]
    assert f"la JVM Spark de ce job (PID {jvm}) s'est arrêtée (signal 9, SIGKILL) : étape « register »" in line, line
    assert "[Errno 111]" not in line and "Traceback" not in recovered_lake.runs["jvm"].output()


def test_seaweedfs_killed_during_a_registration_fails_it_in_one_line_within_the_timeout(recovered_lake):
    settings = recovered_lake.settings
    run = recovered_lake.runs["seaweedfs"]
    [line] = _errors(run)
    assert line.startswith(f"ERREUR : SeaweedFS (S3 sur {settings.s3_endpoint}"), line
    assert "ne répond plus" in line and "étape « register » arrêtée" in line and "`make status`" in line, line
    assert recovered_lake.seconds_to_fail["seaweedfs"] < 20  # LAKEHOUSE_SERVICE_TIMEOUT_S of that run
    assert "Traceback" not in run.output() and "Py4J" not in line


def test_a_thrift_server_killed_during_the_build_fails_in_one_line_and_publishes_nothing(recovered_lake):
    settings = recovered_lake.settings
    run = recovered_lake.runs["thrift"]
    [line] = _errors(run)
    assert "le serveur Thrift" in line and "rien n'a été publié (main de silver et gold inchangé" in line, line
    assert "FORCE" not in run.output()
    assert recovered_lake.seconds_to_fail["thrift"] < 60
    records = [AuditRecord(**json.loads(path.read_text())) for path in settings.audit_dir.glob("audit_*.json")]
    assert any(record.status == "interrupted" and "Thrift" in record.failures[0] for record in records)


def test_after_the_chain_nothing_is_lost_doubled_or_left_behind(recovered_lake):
    settings, env_file = recovered_lake.settings, recovered_lake.env_file
    catalog = iceberg_catalog(settings)
    events = catalog.load_table("bronze.raw_events").scan(selected_fields=("event_id",)).to_arrow()
    ids = events.column("event_id").to_pylist()
    assert len(ids) == len(set(ids)) == settings.get_int("STANDIN_EVENTS") + NEW_DAY_EVENTS  # one row per record
    ledger = catalog.load_table("bronze.ingestion_ledger").scan(selected_fields=("object_key", "etag")).to_arrow()
    entries = list(zip(ledger.column("object_key").to_pylist(), ledger.column("etag").to_pylist(), strict=True))
    assert len(entries) == len(set(entries))
    reconciled = run_command(env_file, "reconcile")
    assert reconciled.process.returncode == 0, reconciled.output()[-3000:]
    assert _branches(settings) == {}  # no audit branch, no registration branch
    assert _keys(settings, small_batches.STAGING_PREFIX + "/") == []
    leftovers = [key for key in _keys(settings, "_airbyte/") if "/staging/" in key or key.endswith("pending.json")]
    assert leftovers == []


def test_gold_equals_a_clean_rebuild_of_the_same_bronze(recovered_lake):
    settings = recovered_lake.settings
    arguments = ["build", "--target", "dev", "--full-refresh", "--exclude-resource-type", "test"]
    command, env, cwd = dbt_command(settings, arguments + ["--exclude-resource-type", "unit_test"])
    rebuilt = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=900)
    assert rebuilt.returncode == 0, rebuilt.stdout[-4000:]
    catalog = iceberg_catalog(settings)
    compared, partitioned = 0, {}
    try:
        for namespace in ("silver", "gold"):
            for identifier in catalog.list_tables(namespace):
                clean = (f"dev_{namespace}", identifier[1])
                assert table_rows(catalog, identifier) == table_rows(catalog, clean), ".".join(identifier)
                partitioned[".".join(identifier)] = _partition_fields(catalog, identifier)
                assert partitioned[".".join(identifier)] == _partition_fields(catalog, clean), ".".join(identifier)
                compared += 1
    finally:  # the lake goes on serving other tests (the pipeline's, the cluster's reference) as it was
        for namespace in ("dev_silver", "dev_gold"):
            for identifier in catalog.list_tables(namespace):
                catalog.drop_table(identifier)
            for identifier in catalog.list_views(namespace):  # the staging views
                catalog.drop_view(identifier)
            catalog.drop_namespace(namespace)
    assert compared >= 10
    # The table whose first build was killed just after its `create` (and the one partitioned on its first
    # column) have their partition fields: the half-made table was not taken for the model's table.
    assert partitioned["gold.fct_events_enriched"] == [("occurred_at_day", "day")]
    assert partitioned["silver.dim_uemoa_indicators"] == [("annee", "identity")]


def _partition_fields(catalog, identifier) -> list[tuple[str, str]]:
    return [(field.name, str(field.transform)) for field in catalog.load_table(identifier).spec().fields]


def test_a_run_started_during_maintenance_waits_for_it_and_both_succeed(recovered_lake):
    env_file = recovered_lake.env_file
    # it holds the write lock from its start; it pauses 15 s once the table is maintained, lock still held
    maintain = LakehouseRun(
        env_file, "maintain", "--table", "bronze.raw_events", LAKEHOUSE_FAULT="pause:maintain-table-done:15"
    )
    maintain.wait_for("[faute] pause", timeout=300)
    run = run_command(env_file, "run", LAKEHOUSE_LOCK_WAIT_S="600")
    assert maintain.finish() == 0, maintain.output()[-3000:]
    assert run.process.returncode == 0, run.output()[-4000:]
    waiting = [line for line in run.output().splitlines() if line.startswith("verrou d'écriture détenu par")]
    assert waiting and "`make maintain`" in waiting[0] and "attente (au plus 600 s" in waiting[0], run.output()[:2000]
