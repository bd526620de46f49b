"""The Spark Thrift Server (HiveServer2) from the `pyspark` wheel, on the lakehouse catalog.

pyspark ships no `sbin/start-thriftserver.sh`, so the server is started as
`spark-submit --class ...HiveThriftServer2 spark-internal` with the rendered
`spark-defaults.conf` (Iceberg REST catalog `lakehouse` as default catalog). Its Hive
metastore (Derby, unused by Iceberg tables but required by Hive) lives in the state folder.
"""

from __future__ import annotations

from pathlib import Path

from lakehouse.core import jars, spark_conf
from lakehouse.core.clients import hive_query
from lakehouse.core.java import check_java
from lakehouse.core.settings import Settings
from lakehouse.core.spark_conf import spark_environment
from lakehouse.services.base import Launch, Port, Service, ServiceError

THRIFT_CLASS = "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"


class ThriftServer(Service):
    name = "thrift"
    label = "Spark Thrift Server (HiveServer2)"

    def marker(self, settings: Settings) -> str:
        return f"hive.server2.thrift.port={settings.thrift_port}"

    def ports(self, settings: Settings) -> list[Port]:
        return [Port(settings.thrift_host, settings.thrift_port, "Thrift/JDBC", "LAKEHOUSE_THRIFT_PORT")]

    def work_dir(self, settings: Settings) -> Path:
        return settings.state_dir / "thrift"

    def launch(self, settings: Settings) -> Launch:
        check_java()
        verified = jars.verified_jars(settings)
        properties = spark_conf.write_rendered(settings, verified)
        work = self.work_dir(settings)
        env = spark_environment(settings)
        env["SPARK_SUBMIT_OPTS"] = f"-Dderby.system.home={work}"
        conf = {
            "spark.driver.memory": settings.get("THRIFT_DRIVER_MEMORY"),
            "spark.ui.port": settings.get("THRIFT_UI_PORT"),
            # also in the properties file; on the command line so that the probe sees where it runs
            "spark.master": settings.get("SPARK_MASTER"),
        }
        if settings.get_bool("THRIFT_JVM_C1_ONLY"):  # a short-lived server (tests): C1 alone, as a job's JVMs
            rendered = spark_conf.spark_properties(settings, verified)
            compiled = spark_conf.with_c1_only(rendered, settings)
            conf.update({key: value for key, value in compiled.items() if value != rendered.get(key)})
        command = spark_conf.spark_submit_command(
            properties,
            conf,
            "--class",
            THRIFT_CLASS,
            "--name",
            "lakehouse-thrift",
            "spark-internal",
            "--hiveconf",
            f"hive.server2.thrift.port={settings.thrift_port}",
            "--hiveconf",
            f"hive.server2.thrift.bind.host={settings.thrift_host}",
        )
        return Launch(command=command, env=env, cwd=work)

    def running_master(self, settings: Settings) -> str | None:
        """The Spark master the running server was started with (None when it does not run)."""
        pid = self.process(settings).pid()
        try:
            arguments = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
        except (OSError, TypeError):
            return None
        prefix = "spark.master="
        return next((argument[len(prefix) :] for argument in arguments if argument.startswith(prefix)), None)

    def probe(self, settings: Settings) -> str:
        running, wanted = self.running_master(settings), settings.get("SPARK_MASTER")
        if running and running != wanted:
            raise ServiceError(
                f"le serveur Thrift tourne sur {running} alors que LAKEHOUSE_SPARK_MASTER={wanted} : "
                "`make down && make up` pour le redémarrer sur le bon master"
            )
        rows = hive_query(settings, "SELECT 1")
        if rows != [(1,)]:
            raise RuntimeError(f"SELECT 1 a renvoyé {rows!r}")
        return f"SELECT 1 OK sur {wanted}"
