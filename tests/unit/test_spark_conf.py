"""The rendered Spark configuration: one template, every setting substituted, secrets kept private."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from lakehouse.core import spark_conf
from lakehouse.core.settings import SettingsError, load_settings

JARS = [Path("/jars/a.jar"), Path("/jars/b.jar")]
CREDENTIALS = {"LAKEHOUSE_S3_ACCESS_KEY": "AKTEST", "LAKEHOUSE_S3_SECRET_KEY": "secret/with+chars"}


def _settings(tmp_path, **environ):
    return load_settings(
        environ={**CREDENTIALS, "LAKEHOUSE_STATE_DIR": str(tmp_path), **environ}, env_file=tmp_path / "absent.env"
    )


def test_rendered_properties_configure_the_rest_catalog_and_s3a(tmp_path):
    props = spark_conf.spark_properties(_settings(tmp_path), JARS)
    assert props["spark.sql.defaultCatalog"] == "lakehouse"
    assert props["spark.sql.catalog.lakehouse"] == "org.apache.iceberg.spark.SparkCatalog"
    assert props["spark.sql.catalog.lakehouse.uri"] == "http://127.0.0.1:8181"
    assert props["spark.sql.catalog.lakehouse.io-impl"] == "org.apache.iceberg.hadoop.HadoopFileIO"
    assert props["spark.sql.catalog.lakehouse.credential"] == "AKTEST:secret/with+chars"
    assert props["spark.sql.catalog.lakehouse.oauth2-server-uri"] == "http://127.0.0.1:8181/v1/oauth/tokens"
    assert props["spark.sql.catalog.lakehouse.token-exchange-enabled"] == "false"  # spark/README.md
    assert props["spark.hadoop.fs.s3.impl"] == "org.apache.hadoop.fs.s3a.S3AFileSystem"
    assert props["spark.hadoop.fs.s3a.endpoint"] == "http://127.0.0.1:8333"
    assert props["spark.hadoop.fs.s3a.connection.ssl.enabled"] == "false"
    assert props["spark.hadoop.fs.s3a.directory.marker.retention"] == "keep"
    assert props["spark.driver.extraClassPath"] == "/jars/a.jar:/jars/b.jar"
    assert props["spark.master"] == "local[2]"
    assert "spark.jars" not in props  # local mode: the classpath is enough
    assert not any("${" in value for value in props.values())


def test_settings_flow_into_the_properties(tmp_path):
    props = spark_conf.spark_properties(
        _settings(
            tmp_path,
            LAKEHOUSE_CATALOG_NAME="uemoa",
            LAKEHOUSE_SPARK_MASTER="spark://master:7077",
            LAKEHOUSE_CATALOG_AUTH="none",
            LAKEHOUSE_S3_ENDPOINT="https://s3.example:9000",
        ),
        JARS,
    )
    assert props["spark.sql.defaultCatalog"] == "uemoa"
    assert props["spark.sql.catalog.uemoa.type"] == "rest"
    assert not any(key.endswith(".credential") for key in props)
    assert props["spark.jars"] == "/jars/a.jar,/jars/b.jar"  # shipped to the cluster's executors
    assert props["spark.hadoop.fs.s3a.connection.ssl.enabled"] == "true"


def test_rendered_file_is_private(tmp_path):
    path = spark_conf.write_rendered(_settings(tmp_path), JARS)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "secret/with+chars" in path.read_text()


def test_job_jvms_compile_with_c1_only_and_the_thrift_server_keeps_c2(tmp_path):
    settings = _settings(tmp_path)
    thrift = spark_conf.spark_properties(settings, JARS)["spark.driver.extraJavaOptions"]
    job = spark_conf.job_properties(settings, JARS)["spark.driver.extraJavaOptions"]
    quiet = f"-Dlog4j2.configurationFile={spark_conf.JOB_LOG4J}"  # job JVMs without start-up chatter
    assert job == f"{thrift} {spark_conf.C1_ONLY} {quiet}" and spark_conf.C1_ONLY not in thrift
    full = spark_conf.job_properties(_settings(tmp_path, LAKEHOUSE_JOB_JVM_C1_ONLY="false"), JARS)
    assert full["spark.driver.extraJavaOptions"] == f"{thrift} {quiet}" and spark_conf.JOB_LOG4J.is_file()


def test_on_a_cluster_the_executors_of_a_job_compile_with_c1_only_too(tmp_path):
    local = spark_conf.job_properties(_settings(tmp_path), JARS)
    assert spark_conf.C1_ONLY not in local["spark.executor.extraJavaOptions"]  # the driver is the executor
    cluster = _settings(tmp_path, LAKEHOUSE_SPARK_MASTER="spark://127.0.0.1:7077")
    job = spark_conf.job_properties(cluster, JARS)
    assert all(job[f"spark.{jvm}.extraJavaOptions"].count(spark_conf.C1_ONLY) == 1 for jvm in ("driver", "executor"))
    full = spark_conf.job_properties(cluster.with_values(LAKEHOUSE_JOB_JVM_C1_ONLY="false"), JARS)
    assert spark_conf.C1_ONLY not in full["spark.executor.extraJavaOptions"]


def test_the_heap_is_kept_lean_unless_turned_off_for_drivers_and_executors(tmp_path):
    lean = spark_conf.spark_properties(_settings(tmp_path), JARS)
    assert all(spark_conf.LEAN_HEAP in lean[f"spark.{jvm}.extraJavaOptions"] for jvm in ("driver", "executor"))
    roomy = spark_conf.spark_properties(_settings(tmp_path, LAKEHOUSE_JVM_LEAN_HEAP="false"), JARS)
    assert not any("HeapFreeRatio" in roomy[f"spark.{jvm}.extraJavaOptions"] for jvm in ("driver", "executor"))
    assert "-XX:G1PeriodicGCInterval=5000" in roomy["spark.driver.extraJavaOptions"]  # idle JVMs still give back


def test_the_parallel_collector_replaces_g1_and_its_lean_heap_for_drivers_and_executors(tmp_path):
    options = spark_conf.spark_properties(_settings(tmp_path, LAKEHOUSE_JVM_GC="Parallel"), JARS)
    for jvm in ("driver", "executor"):
        flags = options[f"spark.{jvm}.extraJavaOptions"].split()
        assert "-XX:+UseParallelGC" in flags and not any("G1" in flag or "HeapFreeRatio" in flag for flag in flags)
    with pytest.raises(SettingsError, match="LAKEHOUSE_JVM_GC='zgc' : valeurs possibles g1, parallel"):
        spark_conf.spark_properties(_settings(tmp_path, LAKEHOUSE_JVM_GC="zgc"), JARS)


def test_on_a_cluster_each_application_takes_a_share_of_the_workers_and_ships_its_jars(tmp_path):
    props = spark_conf.spark_properties(
        _settings(tmp_path, LAKEHOUSE_SPARK_MASTER="spark://127.0.0.1:7077", LAKEHOUSE_SPARK_CORES_MAX="3"), JARS
    )
    assert (props["spark.cores.max"], props["spark.executor.cores"]) == ("3", "1")
    assert props["spark.driver.host"] == "127.0.0.1"
    assert "spark.executor.extraClassPath" not in props  # the executors get the jars from the driver
    local = spark_conf.spark_properties(_settings(tmp_path), JARS)
    assert "spark.cores.max" not in local


def test_a_driver_binds_loopback_unless_it_serves_a_remote_cluster(tmp_path):
    assert spark_conf.local_ip(_settings(tmp_path)) == "127.0.0.1"
    cluster_here = _settings(tmp_path, LAKEHOUSE_SPARK_MASTER="spark://127.0.0.1:7077")
    assert spark_conf.local_ip(cluster_here) == "127.0.0.1"
    remote = _settings(
        tmp_path, LAKEHOUSE_SPARK_MASTER="spark://spark.bceao:7077", LAKEHOUSE_SPARK_DRIVER_HOST="10.0.0.5"
    )
    assert spark_conf.local_ip(remote) is None
    assert spark_conf.spark_properties(remote, JARS)["spark.driver.host"] == "10.0.0.5"


def test_extra_properties_come_last_and_a_bad_line_is_named(tmp_path):
    extra = tmp_path / "spark-cluster.conf"
    extra.write_text("# Kubernetes\nspark.kubernetes.container.image apache/spark:3.5.5\nspark.cores.max 8\n")
    props = spark_conf.spark_properties(_settings(tmp_path, LAKEHOUSE_SPARK_EXTRA_PROPERTIES=str(extra)), JARS)
    assert props["spark.kubernetes.container.image"] == "apache/spark:3.5.5"
    assert props["spark.cores.max"] == "8"
    extra.write_text("spark.kubernetes.namespace\n")
    with pytest.raises(SettingsError, match=r"spark-cluster.conf:1 : propriété illisible"):
        spark_conf.spark_properties(_settings(tmp_path, LAKEHOUSE_SPARK_EXTRA_PROPERTIES=str(extra)), JARS)
    with pytest.raises(SettingsError, match="fichier illisible"):
        spark_conf.spark_properties(_settings(tmp_path, LAKEHOUSE_SPARK_EXTRA_PROPERTIES="absent.conf"), JARS)
