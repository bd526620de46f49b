"""`make cluster-up` / `make cluster-down`: the Spark standalone cluster on this host.

`up` starts the master, then the workers (LAKEHOUSE_SPARK_WORKERS, or `WORKERS=`), each healthy only once
the master lists it; extra workers of an earlier, larger cluster are stopped. `down` stops every worker
that has a PID file, then the master. The cluster runs the work only when LAKEHOUSE_SPARK_MASTER designates
it (`spark://<LAKEHOUSE_SPARK_CLUSTER_HOST>:<LAKEHOUSE_SPARK_CLUSTER_PORT>`); `make up` then starts it
before the Thrift server, and `make down` stops it.
"""

from __future__ import annotations

import re

from lakehouse.core.reporting import Reporter
from lakehouse.core.settings import Settings
from lakehouse.services import ServiceError
from lakehouse.services.spark_cluster import SparkMaster, SparkWorker, master_url, uses_local_cluster

MAX_WORKERS = 16
_WORKER_PID_FILE = re.compile(r"^spark-worker-(\d+)\.pid$")


def worker_count(settings: Settings, workers: int | None = None) -> int:
    count = settings.get_int("SPARK_WORKERS") if workers is None else workers
    if not 1 <= count <= MAX_WORKERS:
        raise ServiceError(
            f"nombre de workers {count} refusé : entre 1 et {MAX_WORKERS} (WORKERS= ou LAKEHOUSE_SPARK_WORKERS)"
        )
    return count


def started_workers(settings: Settings) -> list[SparkWorker]:
    """The workers that have a PID file, running or stale, in number order."""
    if not settings.run_dir.is_dir():
        return []
    indexes = sorted(
        int(match[1]) for path in settings.run_dir.iterdir() if (match := _WORKER_PID_FILE.match(path.name))
    )
    return [SparkWorker(index) for index in indexes]


def up(settings: Settings, workers: int | None = None, progress: Reporter = print) -> None:
    from lakehouse.stack import start_service, stop_service

    count = worker_count(settings, workers)
    progress(start_service(SparkMaster(), settings, progress))
    for index in range(1, count + 1):
        progress(start_service(SparkWorker(index), settings, progress))
    for extra in started_workers(settings):
        if extra.index > count:
            progress(stop_service(extra, settings))
    if not uses_local_cluster(settings):
        progress(
            f"le cluster tourne, mais le travail reste sur {settings.get('SPARK_MASTER')} : "
            f"LAKEHOUSE_SPARK_MASTER={master_url(settings)} dans conf/lakehouse.env pour l'y envoyer "
            "(puis `make down && make up` pour le serveur Thrift)"
        )


def down(settings: Settings, progress: Reporter = print) -> None:
    from lakehouse.stack import stop_service

    for worker in reversed(started_workers(settings)):
        progress(stop_service(worker, settings))
    progress(stop_service(SparkMaster(), settings))
