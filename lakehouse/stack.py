"""Start, stop and inspect the local stack: `make up`, `make down`, `make status`.

`up` is idempotent: a service that already runs and answers its probe is left alone.
Before starting a service it checks every port it will bind, clears a stale PID file,
then waits until the service answers a real probe (S3 list + REST `/v1/config` with a
token; Thrift `SELECT 1`). A service that dies while starting is reported with the
telling line of its log and the log's path. After SeaweedFS is up, the landing bucket,
the table bucket and the namespaces are ensured (`bootstrap`).
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from lakehouse import cluster
from lakehouse.core.clients import ServiceUnavailable, iceberg_catalog, list_buckets, s3_client
from lakehouse.core.errors import first_line
from lakehouse.core.java import live_heap
from lakehouse.core.numbers import number, seconds
from lakehouse.core.reporting import Reporter
from lakehouse.core.settings import Settings
from lakehouse.services import ALL_SERVICES, Service, ServiceError, service_named
from lakehouse.services.postgres import ensure_database
from lakehouse.services.process import port_is_free
from lakehouse.services.spark_cluster import SparkMaster, uses_local_cluster

BUCKET_WAIT_SECONDS = 30


@contextmanager
def stack_lock(settings: Settings) -> Iterator[None]:
    """One `up`/`down` at a time per state folder."""
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    with (settings.run_dir / "stack.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def select_services(names: Sequence[str] | None, include_on_demand: bool = True) -> list[Service]:
    """The named services, in start order; all of them by default (on-demand ones only if asked)."""
    if not names:
        return [service for service in ALL_SERVICES if include_on_demand or not service.on_demand]
    wanted = {service_named(name).name for name in names}
    return [service for service in ALL_SERVICES if service.name in wanted]


def _probe(service: Service, settings: Settings) -> tuple[bool, str]:
    try:
        return True, service.probe(settings)
    except (ServiceUnavailable, ServiceError) as error:
        return False, str(error)
    except Exception as error:  # a probe must never crash the command
        return False, f"{type(error).__name__}: {first_line(error)}"


def _wait_healthy(service: Service, settings: Settings, process, started: float) -> str:
    managed = service.process(settings)
    deadline = started + settings.start_timeout
    last = "pas encore de réponse"
    while time.monotonic() < deadline:
        code = process.poll()
        if code is not None:
            managed.clear_stale()
            raise ServiceError(
                f"{service.label} s'est arrêté pendant le démarrage (code {code}) : {managed.last_log_cause()} "
                f"— journal : {managed.log_file}"
            )
        healthy, last = _probe(service, settings)
        if healthy:
            return last
        time.sleep(0.5)
    managed.stop()
    raise ServiceError(
        f"{service.label} ne répond pas après {settings.start_timeout} s ({last}) ; arrêté. "
        f"Journal : {managed.log_file} (délai : LAKEHOUSE_START_TIMEOUT)"
    )


def _check_ports(service: Service, settings: Settings) -> None:
    for port in service.ports(settings):
        if not port_is_free(port.host, port.port):
            raise ServiceError(
                f"{service.label} : le port {port.port} ({port.role}) est déjà occupé sur {port.host} par un autre "
                f"processus ; arrêtez-le (`ss -ltnp | grep :{port.port}`) "
                f"ou changez {port.setting} dans conf/lakehouse.env"
            )


def start_service(service: Service, settings: Settings, progress: Reporter = print) -> str:
    """Start one service unless it already runs healthy; return a one-line report."""
    managed = service.process(settings)
    state = managed.state()
    if state == "running":
        healthy, detail = _probe(service, settings)
        if healthy:
            return f"{service.name}: déjà démarré — PID {managed.pid()}, {detail}"
        raise ServiceError(
            f"{service.label} tourne (PID {managed.pid()}) mais ne répond pas correctement : {detail}. "
            f"Journal : {managed.log_file} ; essayez `make down && make up`"
        )
    if state == "stale":
        pid = managed.clear_stale()
        progress(f"{service.name}: fichier PID périmé {managed.pid_file} (PID {pid} ne tourne plus) : supprimé")
    _check_ports(service, settings)
    launch = service.launch(settings)
    started = time.monotonic()
    process = managed.start(launch.command, launch.env, launch.cwd, launch.user)
    detail = _wait_healthy(service, settings, process, started)
    elapsed = time.monotonic() - started
    return f"{service.name}: démarré en {seconds(elapsed)} — PID {process.pid}, {service.main_port(settings)}, {detail}"


def bootstrap(settings: Settings) -> str:
    """Ensure the landing bucket, the table bucket and the namespaces exist (idempotent)."""
    created = []
    # SeaweedFS creates its startup buckets just after it starts answering: give it a moment.
    deadline = time.monotonic() + BUCKET_WAIT_SECONDS
    buckets = set(list_buckets(settings))
    while settings.warehouse not in buckets and time.monotonic() < deadline:
        time.sleep(0.3)
        buckets = set(list_buckets(settings))
    if settings.warehouse not in buckets:
        raise ServiceError(
            f"le bucket de tables {settings.warehouse!r} (LAKEHOUSE_WAREHOUSE) "
            f"n'existe pas sur {settings.s3_endpoint} ; "
            "avec SeaweedFS il est créé au démarrage (-tableBucket), avec MinIO par le service mc de docker-compose"
        )
    if settings.landing_bucket not in buckets:
        s3_client(settings).create_bucket(Bucket=settings.landing_bucket)
        created.append(f"bucket {settings.landing_bucket}")
    catalog = iceberg_catalog(settings)
    existing = {ns[0] for ns in catalog.list_namespaces()}
    for namespace in settings.namespaces:
        if namespace not in existing:
            catalog.create_namespace_if_not_exists(namespace)
            created.append(f"namespace {namespace}")
    return "créés : " + ", ".join(created) if created else "buckets et namespaces déjà présents"


def stop_service(service: Service, settings: Settings) -> str:
    """Stop one service (nothing to do when it is not running); return a one-line report."""
    managed = service.process(settings)
    if managed.state() == "stale":
        return f"{service.name}: PID {managed.clear_stale()} ne tournait plus ; fichier PID supprimé"
    pid = managed.stop()
    return f"{service.name}: arrêté (PID {pid})" if pid else f"{service.name}: n'était pas démarré"


def up(settings: Settings, names: Sequence[str] | None = None, progress: Reporter = print) -> None:
    services = select_services(names, include_on_demand=False)
    for service in services:
        if names and not service.enabled(settings) and not service.provided_elsewhere:
            raise ServiceError(f"{service.label} : {service.disabled_reason()}")
    with stack_lock(settings):
        for service in services:
            if not service.enabled(settings):
                if service.name == "seaweedfs":  # the external store and catalog still get their buckets
                    progress(f"seaweedfs: {service.disabled_reason()} ; bootstrap: {bootstrap(settings)}")
                continue
            if service.name == "thrift" and uses_local_cluster(settings):
                cluster.up(settings, progress=progress)  # the Thrift server's work runs on it
            progress(start_service(service, settings, progress))
            if service.name == "seaweedfs":
                progress(f"bootstrap: {bootstrap(settings)}")
            if service.name == "postgres":
                progress(f"postgres: {ensure_database(settings)}")


def down(settings: Settings, names: Sequence[str] | None = None, progress: Reporter = print) -> None:
    with stack_lock(settings):
        for service in reversed(select_services(names)):
            progress(stop_service(service, settings))
        if not names and (cluster.started_workers(settings) or SparkMaster().process(settings).state() != "stopped"):
            cluster.down(settings, progress=progress)


@dataclass
class ServiceStatus:
    name: str
    label: str
    state: str
    pid: int | None
    port: str
    health: str
    log: str
    on_demand: bool = False


def status(settings: Settings) -> list[ServiceStatus]:
    rows = []
    cluster_services: list[Service] = []
    if uses_local_cluster(settings) or SparkMaster().process(settings).state() != "stopped":
        cluster_services = [SparkMaster(), *cluster.started_workers(settings)]
    for service in [*ALL_SERVICES, *cluster_services]:
        managed = service.process(settings)
        state = managed.state()
        health = "-"
        optional = service.on_demand or not service.enabled(settings)
        if state == "stopped" and not service.enabled(settings):
            health = service.disabled_reason()
        if state == "running":
            healthy, detail = _probe(service, settings)
            health = ("OK " if healthy else "EN ÉCHEC ") + detail
        rows.append(
            ServiceStatus(
                service.name,
                service.label,
                state,
                managed.pid() if state != "stopped" else None,
                str(service.main_port(settings)),
                health,
                str(managed.log_file),
                optional,
            )
        )
    return rows


def recycle_bloated_thrift(settings: Settings, progress: Reporter = print) -> bool:
    """Restart the Thrift server when its heap, after a full GC, is above LAKEHOUSE_THRIFT_RECYCLE_HEAP_PCT.

    Each Thrift session keeps about 2 MB after it is closed (Iceberg 1.10.2's OAuth2 session cache
    registers a JVM shutdown hook per catalog, and that hook keeps the session alive; see
    spark/README.md), so a server that runs for weeks fills its heap. The daily run checks it first
    and restarts it while nobody should be using it. 0 turns the check off. True when restarted.
    """
    limit = settings.get_int("THRIFT_RECYCLE_HEAP_PCT")
    managed = service_named("thrift").process(settings)
    if limit <= 0 or managed.state() != "running":
        return False
    heap = live_heap(managed.pid())
    if heap is None:
        return False
    live, maximum = heap
    if live * 100 < limit * maximum:
        return False
    progress(
        f"thrift: {number(live / 2**20)} Mo encore utilisés sur {number(maximum / 2**20)} Mo de tas après GC "
        f"(≥ {limit} %, LAKEHOUSE_THRIFT_RECYCLE_HEAP_PCT) : redémarrage pour rendre la mémoire des sessions fermées"
    )
    down(settings, ["thrift"], progress=progress)
    up(settings, ["thrift"], progress=progress)
    return True
