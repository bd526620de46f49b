"""A Spark standalone cluster on this host (`make cluster-up`): one master and numbered workers.

Both come from the `pyspark` wheel (`bin/spark-class ...deploy.master.Master` and `...deploy.worker.Worker`),
bound to LAKEHOUSE_SPARK_CLUSTER_HOST. The master's web UI serves its state as JSON on `/json/` (workers,
applications): the probes read it, so a worker is healthy only once the master lists it as ALIVE.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

from lakehouse.core.clients import ServiceUnavailable
from lakehouse.core.java import check_java
from lakehouse.core.settings import Settings
from lakehouse.core.spark_conf import spark_environment, spark_home
from lakehouse.services.base import Launch, Port, Service

MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"


def cluster_host(settings: Settings) -> str:
    return settings.get("SPARK_CLUSTER_HOST")


def master_url(settings: Settings) -> str:
    """The master URL of the local cluster (what LAKEHOUSE_SPARK_MASTER is set to for it)."""
    return f"spark://{cluster_host(settings)}:{settings.get_int('SPARK_CLUSTER_PORT')}"


def master_ui_url(settings: Settings) -> str:
    return f"http://{cluster_host(settings)}:{settings.get_int('SPARK_CLUSTER_UI_PORT')}"


def uses_local_cluster(settings: Settings) -> bool:
    """True when LAKEHOUSE_SPARK_MASTER designates the cluster `make cluster-up` starts."""
    return settings.get("SPARK_MASTER") == master_url(settings)


def get_json(url: str, timeout: float = 5.0):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise ServiceUnavailable(f"{url} ne répond pas : {error}") from None


def master_state(settings: Settings) -> dict:
    """The master's JSON state: status, workers (id, host, port, state, cores, memory), applications."""
    return get_json(f"{master_ui_url(settings)}/json/")


def _cluster_environment(settings: Settings) -> dict[str, str]:
    env = spark_environment(settings)
    env["SPARK_LOCAL_IP"] = cluster_host(settings)
    env["SPARK_NO_DAEMONIZE"] = "1"
    return env


class SparkMaster(Service):
    name = "spark-master"
    label = "Master Spark standalone"
    on_demand = True  # started by `make cluster-up` (or by `make up` when LAKEHOUSE_SPARK_MASTER designates it)

    def marker(self, settings: Settings) -> str:
        return f"{MASTER_CLASS} --host {cluster_host(settings)} --port {settings.get_int('SPARK_CLUSTER_PORT')}"

    def ports(self, settings: Settings) -> list[Port]:
        host = cluster_host(settings)
        return [
            Port(host, settings.get_int("SPARK_CLUSTER_PORT"), "master Spark", "LAKEHOUSE_SPARK_CLUSTER_PORT"),
            Port(host, settings.get_int("SPARK_CLUSTER_UI_PORT"), "interface web", "LAKEHOUSE_SPARK_CLUSTER_UI_PORT"),
        ]

    def launch(self, settings: Settings) -> Launch:
        check_java()
        work = settings.state_dir / "spark-cluster" / "master"
        work.mkdir(parents=True, exist_ok=True)
        command = [
            str(spark_home() / "bin" / "spark-class"),
            *self.marker(settings).split(),
            "--webui-port",
            str(settings.get_int("SPARK_CLUSTER_UI_PORT")),
        ]
        return Launch(command=command, env=_cluster_environment(settings), cwd=work)

    def probe(self, settings: Settings) -> str:
        state = master_state(settings)
        if state.get("status") != "ALIVE":
            raise ServiceUnavailable(f"master Spark dans l'état {state.get('status')}")
        alive = [worker for worker in state.get("workers", []) if worker.get("state") == "ALIVE"]
        applications = len(state.get("activeapps", []))
        return f"{master_url(settings)}, {len(alive)} worker(s) actif(s), {applications} application(s)"


class SparkWorker(Service):
    """Worker number `index` (1, 2, ...): ports shifted by index - 1 from the worker settings."""

    on_demand = True

    def __init__(self, index: int):
        self.index = index
        self.name = f"spark-worker-{index}"
        self.label = f"Worker Spark standalone n° {index}"

    def rpc_port(self, settings: Settings) -> int:
        return settings.get_int("SPARK_WORKER_PORT") + self.index - 1

    def ui_port(self, settings: Settings) -> int:
        return settings.get_int("SPARK_WORKER_UI_PORT") + self.index - 1

    def marker(self, settings: Settings) -> str:
        return f"{WORKER_CLASS} --host {cluster_host(settings)} --port {self.rpc_port(settings)}"

    def ports(self, settings: Settings) -> list[Port]:
        host = cluster_host(settings)
        return [
            Port(host, self.rpc_port(settings), "worker Spark", "LAKEHOUSE_SPARK_WORKER_PORT"),
            Port(host, self.ui_port(settings), "interface web du worker", "LAKEHOUSE_SPARK_WORKER_UI_PORT"),
        ]

    def work_dir(self, settings: Settings) -> Path:
        """Where the worker runs its executors (their logs: <work>/<application>/<executor>/stderr)."""
        return settings.state_dir / "spark-cluster" / self.name

    def launch(self, settings: Settings) -> Launch:
        check_java()
        work = self.work_dir(settings)
        work.mkdir(parents=True, exist_ok=True)
        command = [
            str(spark_home() / "bin" / "spark-class"),
            *self.marker(settings).split(),
            "--webui-port",
            str(self.ui_port(settings)),
            "--cores",
            str(settings.get_int("SPARK_WORKER_CORES")),
            "--memory",
            settings.get("SPARK_WORKER_MEMORY"),
            "--work-dir",
            str(work),
            master_url(settings),
        ]
        return Launch(command=command, env=_cluster_environment(settings), cwd=work)

    def probe(self, settings: Settings) -> str:
        address = f"{cluster_host(settings)}:{self.rpc_port(settings)}"
        for worker in master_state(settings).get("workers", []):
            if f"{worker.get('host')}:{worker.get('port')}" == address and worker.get("state") == "ALIVE":
                return f"inscrit auprès du master, {worker.get('cores')} cœurs, {worker.get('memory')} Mo"
        raise ServiceUnavailable(f"le worker {address} n'est pas encore inscrit auprès du master")
