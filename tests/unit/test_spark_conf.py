"""The rendered Spark configuration: one template, every setting substituted, secrets kept private."""

from __future__ import annotations

import stat
from pathlib import Path

from lakehouse.core import spark_conf
from lakehouse.core.settings import load_settings

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
    assert job == f"{thrift} {spark_conf.C1_ONLY}" and spark_conf.C1_ONLY not in thrift
    full = spark_conf.job_properties(_settings(tmp_path, LAKEHOUSE_JOB_JVM_C1_ONLY="false"), JARS)
    assert full["spark.driver.extraJavaOptions"] == thrift
