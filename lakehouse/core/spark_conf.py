"""The Spark runtime: where Spark is (the `pyspark` wheel), its environment, and its configuration
rendered from `conf/templates/spark-defaults.conf.tmpl` and the settings.

The rendered file is the single Spark configuration of the project: the Thrift server
reads it with `--properties-file`, and the Spark session factory loads the same
properties, so a job, a notebook and a dbt model over Thrift see the same catalog.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from string import Template

from lakehouse.core import class_archive
from lakehouse.core.files import write_private
from lakehouse.core.settings import CONF_DIR, PROJECT_ROOT, Settings, SettingsError

TEMPLATE = CONF_DIR / "templates" / "spark-defaults.conf.tmpl"
RENDERED_NAME = "spark-defaults.conf"


def spark_home() -> Path:
    """The Spark distribution shipped in the `pyspark` wheel (bin/spark-submit, bin/beeline, jars/)."""
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def is_local_master(settings: Settings) -> bool:
    return settings.get("SPARK_MASTER").startswith("local")


def local_ip(settings: Settings) -> str | None:
    """The address a driver binds (SPARK_LOCAL_IP): loopback in local mode or for a cluster on this host;
    None (Spark's choice) for a remote cluster."""
    if is_local_master(settings) or settings.get("SPARK_DRIVER_HOST") in ("127.0.0.1", "localhost"):
        return "127.0.0.1"
    return None


def spark_environment(settings: Settings) -> dict[str, str]:
    """Environment for Spark command-line tools (spark-submit, spark-class, beeline) from the pyspark wheel."""
    env = dict(os.environ)
    env["SPARK_HOME"] = str(spark_home())
    env.setdefault("PYSPARK_PYTHON", sys.executable)
    address = local_ip(settings)
    if address:
        env["SPARK_LOCAL_IP"] = address
    return env


def spark_submit_command(properties: Path, conf: dict[str, str], *arguments: str) -> list[str]:
    """`spark-submit --properties-file <properties> --conf k=v ... <arguments>` from the pyspark wheel."""
    command = [str(spark_home() / "bin" / "spark-submit"), "--properties-file", str(properties)]
    for key, value in conf.items():
        command += ["--conf", f"{key}={value}"]
    return command + list(arguments)


# The heap of every Spark JVM with LAKEHOUSE_JVM_LEAN_HEAP: at most 30 % free after a collection, so that the
# stack's memory stays close to what it uses (objective: 4 GB at the peak of a first `make run`). Without it,
# G1's defaults (at most 70 % free): about 0.5 GB more per JVM and fewer collections during work (probe on
# `make dbt-build FULL=1` of the development lake, spark/README.md « Tas des JVM »).
LEAN_HEAP = "-XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=30"

# The collector of every Spark JVM (LAKEHOUSE_JVM_GC). g1: idle JVMs give their unused heap back to the system
# (periodic collection after 5 s without any other, JEP 346), with LEAN_HEAP when asked. parallel: the
# throughput collector, which keeps its heap: on 2 cores a whole dbt build took 8 % (new Thrift server) to 17 %
# (later builds) less CPU of the machine, for about 0.6 GB more per JVM (probe, spark/README.md
# « Ramasse-miettes »).
GARBAGE_COLLECTORS = ("g1", "parallel")
G1_IDLE_RETURN = "-XX:+UseG1GC -XX:G1PeriodicGCInterval=5000"
PARALLEL = "-XX:+UseParallelGC"


def gc_options(settings: Settings) -> str:
    """The JVM options of LAKEHOUSE_JVM_GC (and of LAKEHOUSE_JVM_LEAN_HEAP, which applies to G1)."""
    if settings.get_choice("JVM_GC", GARBAGE_COLLECTORS) == "parallel":
        return PARALLEL
    return f"{G1_IDLE_RETURN} {LEAN_HEAP}" if settings.get_bool("JVM_LEAN_HEAP") else G1_IDLE_RETURN


def render(settings: Settings, jars: list[Path]) -> str:
    catalog = settings.catalog_name
    auth_lines = ""
    if settings.catalog_auth == "oauth2":
        auth_lines = "\n".join(
            [
                f"spark.sql.catalog.{catalog}.rest.auth.type oauth2",
                f"spark.sql.catalog.{catalog}.credential {settings.s3_access_key}:{settings.s3_secret_key}",
                f"spark.sql.catalog.{catalog}.oauth2-server-uri {settings.catalog_token_uri}",
                # renew the token with the client credentials, not by token exchange: SeaweedFS exchanges a token
                # only for the rest of its life, so each expiry refused a session's requests for 1-2 s (spark/README.md)
                f"spark.sql.catalog.{catalog}.token-exchange-enabled false",
            ]
        )
    classpath = ":".join(str(jar) for jar in jars)
    values = {
        **settings.values,
        "LAKEHOUSE_S3_ACCESS_KEY": settings.s3_access_key,
        "LAKEHOUSE_S3_SECRET_KEY": settings.s3_secret_key,
        "JARS_CLASSPATH": classpath,
        "CLUSTER_PROPERTIES": "" if is_local_master(settings) else _cluster_properties(settings, jars),
        "CATALOG_AUTH_PROPERTIES": auth_lines,
        "SPARK_WAREHOUSE_DIR": str(settings.state_dir / "spark-warehouse"),
        "S3_SSL_ENABLED": str(settings.s3_endpoint.startswith("https")).lower(),
        "CLASS_ARCHIVE_OPTIONS": class_archive.java_options(settings, jars),
        "GC_OPTIONS": gc_options(settings),
        "SERVICE_TIMEOUT_MS": str(settings.service_timeout * 1000),
        "FILE_IO_PROPERTIES": _file_io_properties(settings, jars),
    }
    return Template(TEMPLATE.read_text(encoding="utf-8")).substitute(values) + _extra_properties(settings)


def _file_io_properties(settings: Settings, jars: list[Path]) -> str:
    """Iceberg's FileIO: the whole-file read path when its jar was compiled and the threshold is > 0."""
    from lakehouse.core.own_jar import FILE_IO_CLASS, JAR_NAME

    prefix = f"spark.sql.catalog.{settings.catalog_name}"
    max_bytes = settings.get_int("WHOLE_FILE_MAX_BYTES")
    if max_bytes > 1 << 30:
        raise SettingsError(f"LAKEHOUSE_WHOLE_FILE_MAX_BYTES={max_bytes} : au plus {1 << 30} octets (1 Gio)")
    if max_bytes <= 0 or not any(jar.name == JAR_NAME for jar in jars):
        return f"{prefix}.io-impl org.apache.iceberg.hadoop.HadoopFileIO"
    return "\n".join(
        [
            f"{prefix}.io-impl {FILE_IO_CLASS}",
            f"{prefix}.whole-file.max-bytes {max_bytes}",
            f"{prefix}.whole-file.prefetch-threads {settings.get_int('WHOLE_FILE_PREFETCH_THREADS')}",
            f"{prefix}.whole-file.prefetch-max-bytes {settings.get_int('WHOLE_FILE_PREFETCH_MAX_BYTES')}",
        ]
    )


def _extra_properties(settings: Settings) -> str:
    """The user's own Spark properties (LAKEHOUSE_SPARK_EXTRA_PROPERTIES), after the template's: they win."""
    name = settings.get("SPARK_EXTRA_PROPERTIES")
    if not name:
        return ""
    path = Path(os.path.expanduser(name))
    path = path if path.is_absolute() else PROJECT_ROOT / path
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise SettingsError(
            f"LAKEHOUSE_SPARK_EXTRA_PROPERTIES={name} : fichier illisible ({error.strerror}) ; "
            "créez-le (`clé valeur` par ligne) ou videz ce réglage"
        ) from None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition(" ")
        if not key.startswith("spark.") or not value.strip():
            raise SettingsError(f"{path}:{number} : propriété illisible {line!r} (attendu : spark.clé valeur)")
    return f"\n# From {path} (LAKEHOUSE_SPARK_EXTRA_PROPERTIES)\n{text}\n"


def _cluster_properties(settings: Settings, jars: list[Path]) -> str:
    return "\n".join(
        [
            f"spark.jars {','.join(str(jar) for jar in jars)}",
            f"spark.cores.max {settings.get_int('SPARK_CORES_MAX')}",
            f"spark.executor.cores {settings.get_int('SPARK_EXECUTOR_CORES')}",
        ]
    )


def parse_properties(text: str) -> dict[str, str]:
    """Parse a spark-defaults file: `key value` per line, `#` comments."""
    properties = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition(" ")
        properties[key] = value.strip()
    return properties


def write_rendered(settings: Settings, jars: list[Path]) -> Path:
    """Write the rendered file under `<state>/conf/` (it holds the S3 secret: mode 0600)."""
    return write_private(settings.rendered_conf_dir / RENDERED_NAME, render(settings, jars))


def spark_properties(settings: Settings, jars: list[Path]) -> dict[str, str]:
    return parse_properties(render(settings, jars))


# The JIT of a job's JVM with LAKEHOUSE_JOB_JVM_C1_ONLY: C1 alone, no C2. A job's JVM lives for one job (a
# registration, quality suites, maintenance, a notebook), and on 2 cores C2's compilations took the CPU
# the job needed (probe, not a bench: 37 CPU-s of the job's JVM in a daily increment's `make run` with C2,
# 23 without; spark/README.md).
# With C1 alone the JVM reserves 48 MB of code cache instead of 240 MB; a job that runs registration, quality
# suites and maintenance filled it ("CodeCache is full. Compiler has been disabled": the rest of the job was
# interpreted), so the usual size is kept.
C1_ONLY = "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=240m"


# The log4j2 configuration of job JVMs: warnings and errors only, without Spark's and Hadoop's start-up chatter.
JOB_LOG4J = CONF_DIR / "log4j2-jobs.properties"


def with_c1_only(properties: dict[str, str], settings: Settings) -> dict[str, str]:
    """`properties` whose driver compiles with C1 alone, and on a cluster its executors too: they live as
    long as their application."""
    jvms = ("driver",) if is_local_master(settings) else ("driver", "executor")
    return {
        **properties,
        **{f"spark.{jvm}.extraJavaOptions": f"{properties[f'spark.{jvm}.extraJavaOptions']} {C1_ONLY}" for jvm in jvms},
    }


def job_properties(settings: Settings, jars: list[Path]) -> dict[str, str]:
    """The properties of a job's session: the Thrift server's, with the job JVM's JIT choice (the Thrift
    server, long-lived, keeps C2)."""
    properties = spark_properties(settings, jars)
    if settings.get_bool("JOB_JVM_C1_ONLY"):
        properties = with_c1_only(properties, settings)
    properties["spark.driver.extraJavaOptions"] += f" -Dlog4j2.configurationFile={JOB_LOG4J}"
    return properties
