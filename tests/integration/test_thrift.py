"""HiveServer2 (Spark Thrift Server) on the lakehouse catalog, through PyHive and through Beeline."""

from __future__ import annotations

import pytest

from lakehouse.core.clients import hive_query
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
