"""The Spark session factory used by every job, notebook and test.

It loads the same rendered `spark-defaults.conf` properties as the Thrift server, so the
Iceberg REST catalog `lakehouse` (the default catalog), S3A and the verified runtime jars
are configured once. Local mode (`local[2]`) by default; any master (standalone
`spark://...`, `k8s://...`) through `LAKEHOUSE_SPARK_MASTER`.

    from lakehouse_spark.session import get_spark
    spark = get_spark("mon-job")
    spark.sql("select * from bronze.ma_table")
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

from lakehouse.core import jars, spark_conf
from lakehouse.core.java import check_java
from lakehouse.core.settings import Settings, load_settings
from lakehouse.core.spark_conf import spark_home


def get_spark(
    app_name: str = "lakehouse", settings: Settings | None = None, extra_conf: Mapping[str, str] | None = None
):
    """Return a SparkSession on the lakehouse catalog (a session already started is reused as is)."""
    from pyspark.sql import SparkSession

    # The active session is per thread; the one this process started serves every thread (a thread of
    # `make run` validates bronze while dbt builds).
    active = SparkSession.getActiveSession() or SparkSession._instantiatedSession
    if active is not None:
        return active
    settings = settings or load_settings()
    check_java()
    os.environ.setdefault("SPARK_HOME", str(spark_home()))
    address = spark_conf.local_ip(settings)
    if address:
        os.environ.setdefault("SPARK_LOCAL_IP", address)
    properties = spark_conf.job_properties(settings, jars.verified_jars(settings))
    properties.update(extra_conf or {})
    builder = SparkSession.builder.appName(app_name)
    for key, value in properties.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    _quiet_loggers(spark)
    _quiet_py4j_root_messages()
    return spark


def _not_from_py4j(record: logging.LogRecord) -> bool:
    return "py4j" not in Path(record.pathname).parts


def _quiet_py4j_root_messages() -> None:
    """py4j 0.10.9 reports a JVM that died with `logging.exception` on the root logger: a Python traceback
    on stderr, beside the French line that already says which JVM stopped and why. Its own loggers
    (`py4j.*`) are left as they are."""
    root = logging.getLogger()
    if _not_from_py4j not in root.filters:
        root.addFilter(_not_from_py4j)


# Warnings that say nothing to a user of the lakehouse, raised to ERROR in every session:
# - S3AInstrumentation, Hadoop 3.3.1: "Closing output stream statistics while data is still marked as
#   pending upload", then a 10-line statistics dump, for every file written (compaction: one per file);
#   the upload had completed, only the counter was not updated.
# - MetricsConfig: no hadoop-metrics2 properties file, which is the intended setup here.
QUIET_LOGGERS = ("org.apache.hadoop.fs.s3a.S3AInstrumentation", "org.apache.hadoop.metrics2.impl.MetricsConfig")


def _quiet_loggers(spark) -> None:
    jvm = spark.sparkContext._jvm
    for name in QUIET_LOGGERS:
        jvm.org.apache.logging.log4j.core.config.Configurator.setLevel(name, jvm.org.apache.logging.log4j.Level.ERROR)
