"""The class-data-sharing archive (AppCDS, JDK 17) of the Spark driver JVM.

A Spark job's JVM spends most of its start reading and verifying the classes of Spark, Iceberg,
Parquet and Hadoop from some 300 jars. `make setup` runs one short Spark job that records those
classes in an archive (`-XX:ArchiveClassesAtExit`); every later driver JVM (jobs, notebooks, the
Thrift server) maps it (`-XX:SharedArchiveFile`) instead. Probe on this machine, not a bench: a new
session, `SHOW NAMESPACES` and a count over bronze took 9.0-10.0 s without the archive, 5.1 s with it.

An archive only serves the java binary and the exact classpath it was built with (jar paths, sizes,
modification times): its file name carries a digest of both, so a new jar or JDK makes setup build
another one, and an archive that does not match is never named to a JVM. Should the JVM still refuse
it, the JVM starts as before, without a message (`-Xlog:cds=off`). LAKEHOUSE_CLASS_ARCHIVE=false
turns the whole mechanism off.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from lakehouse.core.numbers import number
from lakehouse.core.reporting import Reporter
from lakehouse.core.settings import PROJECT_ROOT, Settings

TRAINING_JOB = PROJECT_ROOT / "spark" / "lakehouse_spark" / "class_archive_training.py"
QUIET = "-Xlog:cds=off,cds+dynamic=off"
TRAINING_TIMEOUT_S = 600


def _first_error(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if "Error" in line or "Exception" in line]
    return (errors or lines or ["?"])[0][:300]


def enabled(settings: Settings) -> bool:
    return settings.get_bool("CLASS_ARCHIVE")


def _fingerprint(path: Path) -> str:
    status = path.stat()
    return f"{path}:{status.st_size}:{status.st_mtime_ns}"


def archive_path(settings: Settings, jars: list[Path]) -> Path:
    """Where the archive of this java binary and this classpath is (whether it exists or not)."""
    from lakehouse.core.spark_conf import spark_home

    java = Path(shutil.which("java") or "java").resolve()
    classpath = [*jars, *sorted((spark_home() / "jars").glob("*.jar"))]
    digest = hashlib.sha256(
        "\n".join(_fingerprint(path) for path in [java, *classpath] if path.exists()).encode()
    ).hexdigest()[:16]
    return settings.spark_runtime_dir / "jvm" / f"spark-{digest}.jsa"


def java_options(settings: Settings, jars: list[Path]) -> str:
    """The driver's JVM options that map the archive, or "" when there is none for this classpath."""
    if not enabled(settings):
        return ""
    archive = archive_path(settings, jars)
    return f"-XX:SharedArchiveFile={archive} {QUIET}" if archive.is_file() else ""


def ensure_archive(settings: Settings, jars: list[Path], progress: Reporter = print) -> str:
    """Build the archive when this classpath has none (one short Spark job, about 30 s); one line."""
    if not enabled(settings):
        return "archive de classes de la JVM désactivée (LAKEHOUSE_CLASS_ARCHIVE=false)"
    archive = archive_path(settings, jars)
    failed = archive.with_suffix(".failed")
    if found := _built_or_failed(archive, failed):
        return found
    archive.parent.mkdir(parents=True, exist_ok=True)
    # One build at a time per folder (two test processes, or a setup beside a test run, share one):
    # the others wait for it, then take its archive (or its failure).
    with (archive.parent / ".build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _built_or_failed(archive, failed) or _build(settings, jars, archive, failed, progress)


def _built_or_failed(archive: Path, failed: Path) -> str | None:
    if archive.is_file():
        return f"archive de classes de la JVM : {archive}"
    if failed.is_file():
        return f"archive de classes de la JVM non construite (échec précédent : {failed}, supprimez-le pour réessayer)"
    return None


def _build(settings: Settings, jars: list[Path], archive: Path, failed: Path, progress: Reporter) -> str:
    from lakehouse.core.spark_conf import spark_environment, spark_properties, spark_submit_command, write_rendered

    for old in archive.parent.glob("spark-*.jsa"):  # built for other jars or another JDK
        old.unlink()
    progress("archive de classes de la JVM : construction (une fois, environ 45 s) ...")
    properties = write_rendered(settings, jars)
    driver_options = spark_properties(settings, jars)["spark.driver.extraJavaOptions"]
    partial = archive.with_name(f"{archive.name}.{os.getpid()}.partial")
    with tempfile.TemporaryDirectory(prefix="lakehouse-cds-") as warehouse:
        command = spark_submit_command(
            properties,
            {
                "spark.driver.extraJavaOptions": f"{driver_options} -XX:ArchiveClassesAtExit={partial} {QUIET}",
                "spark.ui.enabled": "false",
                # a throwaway local catalog as the default one: the lakehouse's catalog service may be down
                "spark.sql.catalog.training": "org.apache.iceberg.spark.SparkCatalog",
                "spark.sql.catalog.training.type": "hadoop",
                "spark.sql.catalog.training.warehouse": f"file://{warehouse}/iceberg",
                "spark.sql.defaultCatalog": "training",
            },
            str(TRAINING_JOB),
            warehouse,
        )
        try:
            result = subprocess.run(
                command,
                env=spark_environment(settings),
                capture_output=True,
                text=True,
                timeout=TRAINING_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired:
            result = None
    if result is None or result.returncode != 0 or not partial.is_file():
        partial.unlink(missing_ok=True)
        reason = "délai dépassé" if result is None else _first_error(result.stdout + "\n" + result.stderr)
        failed.write_text(reason + "\n")
        return f"archive de classes de la JVM non construite ({reason}) : les JVM démarrent sans"
    partial.replace(archive)
    return f"archive de classes de la JVM construite : {archive} ({number(archive.stat().st_size / 1e6)} Mo)"
