"""The local stack on real processes: idempotent `up`, clear failures, clean `down`, credentials enforced."""

from __future__ import annotations

import socket
import subprocess
import time

import pytest
from botocore.exceptions import ClientError

from lakehouse import stack
from lakehouse.core import jars
from lakehouse.core.clients import ServiceUnavailable, catalog_token, hive_query, s3_client
from lakehouse.core.settings import load_settings
from lakehouse.services import SeaweedFS, service_named
from lakehouse.services.process import pid_is_running, port_is_free
from lakehouse_dev.sandbox import sandbox_settings, write_sandbox_env
from tests.cli_runner import run_cli
from tests.stacks import SHARED_SPARK_RUNTIME

pytestmark = pytest.mark.integration


def test_up_twice_is_a_no_op(running_stack):
    before = {s.name: s.process(running_stack).pid() for s in stack.select_services(None)}
    lines: list[str] = []
    started = time.monotonic()
    stack.up(running_stack, progress=lines.append)
    assert time.monotonic() - started < running_stack.start_timeout
    after = {s.name: s.process(running_stack).pid() for s in stack.select_services(None)}
    assert after == before
    assert sum("déjà démarré" in line for line in lines) == 2, lines
    assert any("déjà présents" in line for line in lines), lines


def test_status_shows_each_service_healthy(running_stack):
    rows = {row.name: row for row in stack.status(running_stack)}
    on_demand = {"postgres", "chroma", "jupyter", "sql", "dagster", "dagster-daemon"}
    assert set(rows) == {"seaweedfs", "thrift", *on_demand}
    # not started by `up`: on demand (jupyter, sql, the orchestrator) or not configured (chroma off by default,
    # postgres off in tests)
    assert {name for name, row in rows.items() if row.on_demand} == on_demand
    for row in (rows["seaweedfs"], rows["thrift"]):
        assert row.state == "running" and row.pid and row.health.startswith("OK"), row
    assert rows["thrift"].port.startswith(f"127.0.0.1:{running_stack.thrift_port}")


def test_buckets_and_namespaces_exist(running_stack):
    from lakehouse.core.clients import iceberg_catalog, list_buckets

    assert {running_stack.landing_bucket, running_stack.warehouse} <= set(list_buckets(running_stack))
    assert {ns[0] for ns in iceberg_catalog(running_stack).list_namespaces()} >= {"bronze", "silver", "gold", "default"}


def test_s3_refuses_wrong_credentials(running_stack):
    bad_secret = s3_client(running_stack, secret_key="not-the-secret")
    with pytest.raises(ClientError) as refused:
        bad_secret.list_buckets()
    assert refused.value.response["Error"]["Code"] in ("SignatureDoesNotMatch", "AccessDenied", "InvalidAccessKeyId")
    unknown_key = s3_client(running_stack, access_key="NOSUCHKEY", secret_key="x")
    with pytest.raises(ClientError):
        unknown_key.put_object(Bucket=running_stack.landing_bucket, Key="intrus.txt", Body=b"x")


def test_catalog_refuses_wrong_credentials(running_stack):
    with pytest.raises(ServiceUnavailable, match="refuse les identifiants"):
        catalog_token(running_stack, client_secret="not-the-secret")


def test_busy_port_fails_with_a_one_line_cause(tmp_path):
    env_file = write_sandbox_env(tmp_path, 22000)
    settings = sandbox_settings(tmp_path, 22000)
    host, port = settings.s3_host_port
    with socket.socket() as squatter:
        squatter.bind((host, port))
        squatter.listen()
        result = run_cli("up", "seaweedfs", env_file=env_file)
    assert result.returncode == 1
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1, message
    assert f"port {port} (S3) est déjà occupé" in message and "LAKEHOUSE_S3_ENDPOINT" in message
    assert "Traceback" not in result.stderr
    assert SeaweedFS().process(settings).state() == "stopped"  # nothing started, no PID file


def test_down_leaves_no_process_behind(tmp_path):
    settings = sandbox_settings(tmp_path, 22100)
    service = SeaweedFS()
    stack.up(settings, ["seaweedfs"], progress=lambda _: None)
    pid = service.process(settings).pid()
    assert pid and pid_is_running(pid, service.marker(settings))
    lines: list[str] = []
    stack.down(settings, ["seaweedfs"], progress=lines.append)
    assert lines == [f"seaweedfs: arrêté (PID {pid})"]
    assert not pid_is_running(pid, service.marker(settings))
    assert not service.process(settings).pid_file.exists()
    assert all(port_is_free(p.host, p.port) for p in service.ports(settings))
    stack.down(settings, ["seaweedfs"], progress=lines.append)  # a second down is harmless
    assert lines[-1] == "seaweedfs: n'était pas démarré"


def test_stale_pid_file_is_reported_and_replaced(tmp_path):
    settings = sandbox_settings(tmp_path, 22200)
    service = SeaweedFS()
    dead = subprocess.Popen(["true"])
    dead.wait()
    managed = service.process(settings)
    managed.run_dir.mkdir(parents=True, exist_ok=True)
    managed.pid_file.write_text(f'{{"pid": {dead.pid}}}\n')
    lines: list[str] = []
    try:
        stack.up(settings, ["seaweedfs"], progress=lines.append)
        assert any("fichier PID périmé" in line and str(dead.pid) in line for line in lines), lines
        assert managed.state() == "running" and managed.pid() != dead.pid
    finally:
        stack.down(settings, ["seaweedfs"], progress=lambda _: None)


def test_service_dying_at_start_names_the_cause_and_the_log(tmp_path):
    env_file = write_sandbox_env(tmp_path, 22300, **SHARED_SPARK_RUNTIME, LAKEHOUSE_THRIFT_DRIVER_MEMORY="beaucoup")
    jars.resolve_jars(load_settings(environ={}, env_file=env_file), progress=lambda _: None)
    result = run_cli("up", "thrift", env_file=env_file)
    assert result.returncode == 1
    message = result.stderr.strip()
    assert "s'est arrêté pendant le démarrage" in message
    assert "beaucoup" in message  # the log line that says what was wrong
    assert str(tmp_path / "state" / "logs" / "thrift.log") in message
    assert "Traceback" not in message


def test_a_bloated_thrift_server_is_restarted_by_the_daily_run_and_a_lean_one_is_kept(running_stack):
    thrift = service_named("thrift").process(running_stack)
    before = thrift.pid()
    lines: list[str] = []
    assert not stack.recycle_bloated_thrift(
        running_stack.with_values(LAKEHOUSE_THRIFT_RECYCLE_HEAP_PCT="99"), lines.append
    )
    assert thrift.pid() == before and lines == []
    assert stack.recycle_bloated_thrift(running_stack.with_values(LAKEHOUSE_THRIFT_RECYCLE_HEAP_PCT="1"), lines.append)
    assert "Mo encore utilisés sur" in lines[0] and "redémarrage" in lines[0], lines
    assert thrift.pid() != before and thrift.state() == "running"
    assert hive_query(running_stack, "SELECT 1") == [(1,)]


def test_an_external_object_store_gets_its_buckets_checked_not_a_local_seaweedfs(running_stack, tmp_path):
    # LAKEHOUSE_SEAWEEDFS_LOCAL=false: the store and the catalog are elsewhere (here: the test stack's own).
    external = running_stack.with_values(LAKEHOUSE_SEAWEEDFS_LOCAL="false", LAKEHOUSE_STATE_DIR=str(tmp_path))
    lines: list[str] = []
    stack.up(external, ["seaweedfs"], progress=lines.append)
    assert lines == [
        "seaweedfs: object store et catalogue externes (LAKEHOUSE_SEAWEEDFS_LOCAL=false) ; "
        "bootstrap: buckets et namespaces déjà présents"
    ]
    assert SeaweedFS().process(external).state() == "stopped"
    assert not (tmp_path / "seaweedfs").exists()
