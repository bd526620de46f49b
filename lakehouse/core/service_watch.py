"""Watch the services a step needs while it runs: a service that stops answering fails the step within
LAKEHOUSE_SERVICE_TIMEOUT_S, in one French line that names it, its address and `make status`.

The clients have their own timeouts (S3A, Iceberg's REST client, pyiceberg, boto3, pyarrow, PyHive,
psycopg: see `spark/README.md`, « Pannes et délais »), so a step usually fails by itself within seconds;
this watch then says which service was the cause, instead of the client's wording of it (a Py4J error,
"unexpected exception"). A client without a usable timeout (dbt's Thrift connections, a chroma server)
could still wait: the watch probes every service the step uses every few seconds, and when one has not
answered for most of the timeout, it interrupts the step (SIGINT to the main thread: a Spark call, a
dbt process or a wait is interrupted) and the step fails with that line.

Only a service that answered once during the step counts as stopped: a step that starts a service, or
runs while it is not started, is left to its own messages.
"""

from __future__ import annotations

import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from lakehouse.core.errors import LakehouseError, exit_description
from lakehouse.core.numbers import number
from lakehouse.core.settings import Settings

PROBE_SECONDS = 2.0  # between two rounds of probes
PROBE_TIMEOUT = 3.0
CLEANUP_SECONDS = 15  # left, of the timeout, for the step to stop and report once interrupted


class ServiceDown(LakehouseError):
    """A service stopped answering while a step used it; the message names it and what to do."""


class JobDied(LakehouseError):
    """The Spark JVM of this process died while a step used it; the message says how."""


def spark_jvm_exit() -> tuple[int, int] | None:
    """(PID, exit code) of this process's Spark JVM when it has ended; None while it runs or when this
    process started none."""
    import sys

    if "pyspark" not in sys.modules:
        return None
    from pyspark import SparkContext

    process = getattr(SparkContext._gateway, "proc", None) if SparkContext._gateway else None
    code = process.poll() if process is not None else None
    return None if code is None else (process.pid, code)


@dataclass(frozen=True)
class Watched:
    name: str  # s3, catalog, thrift, postgres, chroma
    label: str  # what the user reads: the process that serves it ("SeaweedFS" for S3 and the catalog)
    role: str  # what it serves, when the label does not say it
    address: str
    probe: Callable[[], None]  # raises when the service does not answer

    def describe(self) -> str:
        return f"{self.label} ({self.role} sur {self.address})" if self.role else f"{self.label} sur {self.address}"


def _http(url: str) -> Callable[[], None]:
    def probe() -> None:
        requests.get(url, timeout=(PROBE_TIMEOUT, PROBE_TIMEOUT))  # any answer, even 403, is an answer

    return probe


def _tcp(host: str, port: int) -> Callable[[], None]:
    def probe() -> None:
        with socket.create_connection((host, port), timeout=PROBE_TIMEOUT):
            pass

    return probe


def watched_services(settings: Settings, names: tuple[str, ...]) -> list[Watched]:
    """The services of `names` the settings use (chroma only with a server URL)."""
    local_store = settings.get_bool("SEAWEEDFS_LOCAL")
    found = []
    for name in names:
        if name == "s3":
            label, role = ("SeaweedFS", "S3") if local_store else ("le stockage S3", "")
            found.append(Watched(name, label, role, settings.s3_endpoint, _http(settings.s3_endpoint)))
        elif name == "catalog":
            label, role = ("SeaweedFS", "catalogue Iceberg REST") if local_store else ("le catalogue Iceberg REST", "")
            found.append(Watched(name, label, role, settings.catalog_uri, _http(f"{settings.catalog_uri}/v1/config")))
        elif name == "thrift":
            host, port = settings.thrift_host, settings.thrift_port
            found.append(Watched(name, "le serveur Thrift", "", f"{host}:{port}", _tcp(host, port)))
        elif name == "postgres":
            host, port = settings.get("POSTGRES_HOST"), settings.get_int("POSTGRES_PORT")
            found.append(Watched(name, "PostgreSQL", "", f"{host}:{port}", _tcp(host, port)))
        elif name == "chroma" and settings.get("CHROMA_URL").strip():
            url = settings.get("CHROMA_URL").strip().rstrip("/")
            parts = urlsplit(url)
            probe = _tcp(parts.hostname or "127.0.0.1", parts.port or 80)
            found.append(Watched(name, "le serveur chroma", "", url, probe))
    return found


def answers(service: Watched) -> bool:
    try:
        service.probe()
        return True
    except Exception:
        return False


def silent_line(services: list[Watched]) -> str:
    """The services that do not answer, each process named once (SeaweedFS serves S3 and the catalog)."""
    groups: dict[str, list[Watched]] = {}
    for service in services:
        groups.setdefault(service.label, []).append(service)
    parts = []
    for label, members in groups.items():
        roles = [f"{m.role} sur {m.address}" for m in members if m.role]
        parts.append(f"{label} ({', '.join(roles)})" if roles else f"{label} sur {members[0].address}")
    return " et ".join(parts) + (" ne répondent plus" if len(parts) > 1 else " ne répond plus")


def down_line(services: list[Watched], seconds: float | None, what: str) -> str:
    """One line: the services that stopped answering, since when, what was stopped, and what to do."""
    since = f" depuis {number(seconds)} s" if seconds else ""
    return (
        f"{silent_line(services)}{since} : {what} ; `make status` montre l'état des services, `make up` "
        "redémarre ceux de la pile locale, puis relancez la commande (elle reprend où elle en était)"
    )


class ServiceWatch:
    """Probes `services` in a thread; interrupts the main thread when one stopped answering for too long."""

    def __init__(self, services: list[Watched], timeout: int):
        self.services = services
        self.deadline = max(5.0, timeout - CLEANUP_SECONDS)
        self.answered: set[str] = set()
        self.silent_since: dict[str, float] = {}
        self.fired: list[Watched] = []
        self._stop = threading.Event()
        self._main = threading.main_thread().ident
        self._thread = threading.Thread(target=self._run, name="service-watch", daemon=True)

    def start(self) -> ServiceWatch:
        if self.services:
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=PROBE_TIMEOUT * 2)

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            for service in self.services:
                if answers(service):
                    self.answered.add(service.name)
                    self.silent_since.pop(service.name, None)
                elif service.name in self.answered:
                    self.silent_since.setdefault(service.name, now)
            late = [s for s in self.services if now - self.silent_since.get(s.name, now) >= self.deadline]
            if late and not self.fired and not self._stop.is_set():
                self.fired = late
                signal.pthread_kill(self._main, signal.SIGINT)
                return
            self._stop.wait(PROBE_SECONDS)

    def silent(self) -> list[Watched]:
        """The services that answered during the step and do not answer now (probed again)."""
        return [s for s in self.services if s.name in self.answered and not answers(s)]

    def silent_seconds(self, services: list[Watched]) -> float | None:
        starts = [self.silent_since[s.name] for s in services if s.name in self.silent_since]
        return time.monotonic() - min(starts) if starts else None


@contextmanager
def watching(settings: Settings, names: tuple[str, ...], what: str) -> Iterator[ServiceWatch]:
    """Run the block while watching the services `names`; when it fails (or is interrupted by the watch)
    while one of them does not answer, raise ServiceDown naming it instead (JobDied when this process's
    Spark JVM died). `what` says what stopped, e.g. "`make register` arrêté"."""
    watch = ServiceWatch(watched_services(settings, names), settings.service_timeout).start()
    try:
        yield watch
    except KeyboardInterrupt:
        watch.stop()
        if watch.fired:
            raise ServiceDown(down_line(watch.fired, watch.silent_seconds(watch.fired), what)) from None
        raise
    except Exception as error:
        watch.stop()
        silent = watch.silent()
        if silent:
            raise ServiceDown(down_line(silent, watch.silent_seconds(silent), what)) from error
        ended = spark_jvm_exit()
        if ended:
            pid, code = ended
            raise JobDied(
                f"la JVM Spark de ce job (PID {pid}) s'est arrêtée ({exit_description(code)}) : {what} ; ce "
                "qu'elle n'avait pas encore validé n'est pas visible et la prochaine exécution le reprend"
            ) from error
        raise
    finally:
        watch.stop()
