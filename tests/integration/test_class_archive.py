"""The options a job's driver JVM really starts with. The archive of Spark's classes built at setup is
mapped (with `-Xshare:on` a JVM that cannot map its archive refuses to start, so the session below
starts only if it does), and the JIT is C1 alone (LAKEHOUSE_JOB_JVM_C1_ONLY)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from lakehouse.core import class_archive, jars, spark_conf
from lakehouse.core.settings import PROJECT_ROOT

pytestmark = pytest.mark.integration

SESSION = """
import sys
from lakehouse.core import jars, spark_conf
from lakehouse.core.settings import load_settings
from lakehouse_spark.session import get_spark

settings = load_settings()
driver = spark_conf.spark_properties(settings, jars.verified_jars(settings))["spark.driver.extraJavaOptions"]
spark = get_spark("archive-test", settings, {"spark.driver.extraJavaOptions": driver + " " + sys.argv[1]})
print("lignes", spark.range(5).count())
"""


def _session_with(options: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if not key.startswith("LAKEHOUSE_")}
    env["LAKEHOUSE_ENV_FILE"] = os.environ["LAKEHOUSE_ENV_FILE"]
    return subprocess.run(
        [sys.executable, "-c", SESSION, options], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_the_driver_jvm_maps_the_archive_built_at_setup(running_stack):
    paths = jars.verified_jars(running_stack)
    archive = class_archive.archive_path(running_stack, paths)
    assert archive.is_file(), "la fixture stack_settings construit l'archive comme make setup"
    driver = spark_conf.spark_properties(running_stack, paths)["spark.driver.extraJavaOptions"]
    assert f"-XX:SharedArchiveFile={archive}" in driver
    mapped = _session_with("-Xshare:on")
    assert mapped.returncode == 0 and "lignes 5" in mapped.stdout, mapped.stdout[-2000:] + mapped.stderr[-3000:]
    # the same check fails when the archive cannot be mapped
    unmapped = _session_with(f"-XX:SharedArchiveFile={archive.parent / 'absente.jsa'} -Xshare:on")
    assert unmapped.returncode != 0 and "lignes 5" not in unmapped.stdout


def test_a_job_jvm_compiles_with_c1_only(spark):
    arguments = list(
        spark.sparkContext._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments()
    )
    assert set(spark_conf.C1_ONLY.split()) <= set(arguments), arguments  # C1 alone, with the usual code cache
