"""HiveServer2 (Spark Thrift Server) on the lakehouse catalog, through PyHive and through Beeline."""

from __future__ import annotations

import subprocess

import pytest

from lakehouse.core.clients import hive_connection, hive_query
from lakehouse.core.dbt_sessions import keep_sessions_open
from lakehouse.core.java import jdk_tool
from lakehouse.services import service_named
from tests.cli_runner import run_cli

pytestmark = pytest.mark.integration


def test_pyhive_creates_and_reads_an_iceberg_table(running_stack):
    hive_query(running_stack, "DROP TABLE IF EXISTS bronze.rt_thrift", database="bronze")
    hive_query(
        running_stack, "CREATE TABLE bronze.rt_thrift (pays STRING, trimestre INT) USING iceberg", database="bronze"
    )
    hive_query(
        running_stack, "INSERT INTO bronze.rt_thrift VALUES ('GNB', 1), ('GNB', 2), ('BFA', 1)", database="bronze"
    )
    assert hive_query(
        running_stack, "SELECT pays, count(*) FROM rt_thrift GROUP BY pays ORDER BY pays", database="bronze"
    ) == [("BFA", 1), ("GNB", 2)]
    provider = hive_query(running_stack, "SHOW TBLPROPERTIES bronze.rt_thrift ('format')")
    assert provider and "iceberg" in provider[0][1]


def test_thrift_sees_tables_written_by_a_spark_job(spark, running_stack):
    spark.sql("CREATE OR REPLACE TABLE lakehouse.silver.rt_from_job USING iceberg AS SELECT 7 AS n")
    assert hive_query(running_stack, "SELECT n FROM lakehouse.silver.rt_from_job") == [(7,)]


def test_beeline_runs_one_statement_and_exits(running_stack):
    result = run_cli("beeline", "--sql", "SELECT 40 + 2 AS reponse", timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "reponse" in result.stdout and "42" in result.stdout


def test_dbt_connects_over_thrift_with_the_rendered_profile(running_stack):
    result = run_cli("dbt", "debug", "--no-use-colors")
    assert result.returncode == 0, result.stdout[-3000:]
    assert f"port: {running_stack.thrift_port}" in result.stdout
    assert "All checks passed" in result.stdout


def _instances(pid: int, class_name: str) -> int:
    """Objects of one class in a JVM's heap, live or not yet collected (`jcmd GC.class_histogram`)."""
    histogram = subprocess.run(
        [str(jdk_tool("jcmd")), str(pid), "GC.class_histogram"], capture_output=True, text=True, timeout=60
    ).stdout
    return sum(int(line.split()[1]) for line in histogram.splitlines() if line.split()[-1:] == [class_name])


@pytest.mark.skipif(jdk_tool("jcmd") is None, reason="jcmd absent (JRE seul)")
def test_sessions_share_one_s3a_filesystem_without_impersonation(running_stack):
    # With Hive's default doAs, each session had its own S3A filesystem, closed with the session while
    # Iceberg's shared threads could still be uploading through it: a dbt build then hung forever.
    pid = service_named("thrift").process(running_stack).pid()
    hive_query(running_stack, "CREATE TABLE IF NOT EXISTS bronze.rt_sessions (n INT) USING iceberg")
    hive_query(running_stack, "INSERT INTO bronze.rt_sessions VALUES (0)")
    before = _instances(pid, "org.apache.hadoop.fs.s3a.S3AFileSystem")
    for n in range(1, 4):  # one session each: write, read, close
        hive_query(running_stack, f"INSERT INTO bronze.rt_sessions VALUES ({n})")
    assert hive_query(running_stack, "SELECT count(*) FROM bronze.rt_sessions")[0][0] >= 4
    assert _instances(pid, "org.apache.hadoop.fs.s3a.S3AFileSystem") == before >= 1
    assert _instances(pid, "org.apache.hive.service.cli.session.HiveSessionImplwithUGI") == 0


def test_a_view_reads_the_audit_branch_in_an_audited_session_and_main_elsewhere(running_stack):
    """Iceberg views (view endpoints on): a view has no branch; it reads its tables by name, so the
    session of an audited build (spark.wap.branch) reads them on the audit branch, any other on main."""
    connection = hive_connection(running_stack, "silver")
    cursor = connection.cursor()

    def rows(sql: str) -> list[tuple]:
        cursor.execute(sql)
        return cursor.fetchall()

    try:
        rows("DROP VIEW IF EXISTS silver.rt_view")
        rows("DROP TABLE IF EXISTS silver.rt_view_source")
        rows("CREATE TABLE silver.rt_view_source (n INT) USING iceberg TBLPROPERTIES ('write.wap.enabled'='true')")
        rows("INSERT INTO silver.rt_view_source VALUES (1)")
        rows("ALTER TABLE silver.rt_view_source CREATE BRANCH rt_audit")
        rows("INSERT INTO silver.rt_view_source.branch_rt_audit VALUES (2)")
        assert rows("CREATE OR REPLACE VIEW silver.rt_view AS SELECT count(*) AS n FROM silver.rt_view_source") == []
        assert ("silver", "rt_view", False) in rows("SHOW VIEWS IN silver")
        assert rows("SELECT n FROM silver.rt_view") == [(1,)]
        rows("SET spark.wap.branch=rt_audit")
        assert rows("SELECT n FROM silver.rt_view") == [(2,)]
        rows("RESET spark.wap.branch")
        assert rows("SELECT n FROM silver.rt_view") == [(1,)]
    finally:
        rows("DROP VIEW IF EXISTS silver.rt_view")
        rows("DROP TABLE IF EXISTS silver.rt_view_source")
        connection.close()


def test_ddl_replies_read_as_no_rows(running_stack):
    """PyHive reads the Thrift server's reply to a DDL statement as no rows (lakehouse.core.thrift_replies)."""
    connection = hive_connection(running_stack, "silver")
    cursor = connection.cursor()
    try:
        cursor.execute("CREATE OR REPLACE TABLE silver.rt_ddl (a INT) USING iceberg")
        assert cursor.fetchall() == []
        cursor.execute("ALTER TABLE silver.rt_ddl ADD COLUMNS (b STRING)")
        assert cursor.fetchall() == []
        cursor.execute("ALTER TABLE silver.rt_ddl ALTER COLUMN b COMMENT 'commentaire'")
        assert cursor.fetchall() == []
        cursor.execute("DESCRIBE silver.rt_ddl")
        assert cursor.fetchall() == [("a", "int", None), ("b", "string", "commentaire")]
    finally:
        cursor.execute("DROP TABLE IF EXISTS silver.rt_ddl")
        connection.close()


def test_dbt_closes_each_statement_of_its_kept_session_when_the_next_starts(running_stack):
    """`lakehouse.core.dbt_sessions`: a session kept for a whole build must not keep every statement it ran
    (the server holds an open statement's plan and broadcasts until it is closed)."""
    from dbt.adapters.spark.connections import PyhiveConnectionWrapper
    from TCLIService import ttypes

    keep_sessions_open()
    connection = hive_connection(running_stack)
    session = PyhiveConnectionWrapper(connection, poll_interval=1)
    try:
        session.cursor().execute("SELECT 1")
        first = session._cursor._operationHandle
        assert session.fetchall() == [(1,)]
        session.cursor().execute("SELECT 2")
        assert session.fetchall() == [(2,)]
        status = connection.client.GetOperationStatus(ttypes.TGetOperationStatusReq(operationHandle=first)).status
        assert status.statusCode == ttypes.TStatusCode.ERROR_STATUS, status
        assert "Invalid OperationHandle" in status.errorMessage, status
    finally:
        session.close()
