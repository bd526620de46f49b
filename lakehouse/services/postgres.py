"""The local PostgreSQL server of the serving copy (`make serve`), from Debian's `postgresql` package.

Started by `make up` when LAKEHOUSE_POSTGRES_LOCAL allows it (`auto`: when the package is installed). The
cluster is created on first start (`initdb`, superuser LAKEHOUSE_POSTGRES_USER with the generated password,
SCRAM authentication over TCP, no Unix socket) under LAKEHOUSE_POSTGRES_DATA_DIR (`<state>/postgres` by
default); the server listens on LAKEHOUSE_POSTGRES_HOST:PORT only and stops with a fast shutdown (SIGINT).
When the TimescaleDB library is installed beside the server, it is preloaded (shared_preload_libraries), as
its extension requires.
PostgreSQL refuses to run as root: started by root, it runs as the `postgres` system user, which then owns
its data folder.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import signal
import stat
import subprocess
from pathlib import Path

from lakehouse.core.clients import ServiceUnavailable
from lakehouse.core.files import write_private
from lakehouse.core.settings import Settings, SettingsError
from lakehouse.services.base import Launch, Port, Service, ServiceError

DEBIAN_ROOT = Path("/usr/lib/postgresql")
SYSTEM_USER = "postgres"  # the account Debian's package creates
INSTALL_HINT = "installez le paquet Debian postgresql (`apt-get install postgresql`) ou LAKEHOUSE_POSTGRES_BIN_DIR"


def bin_dir(settings: Settings) -> Path | None:
    """The folder of `postgres` and `initdb`: LAKEHOUSE_POSTGRES_BIN_DIR, else Debian's newest version."""
    configured = settings.get("POSTGRES_BIN_DIR").strip()
    if configured:
        return Path(configured)
    versions = [path for path in DEBIAN_ROOT.glob("*/bin") if (path / "postgres").is_file()]
    numbered = [(int(match[0]), path) for path in versions if (match := re.match(r"\d+", path.parent.name))]
    return max(numbered)[1] if numbered else None


def timescaledb_installed(binaries: Path) -> bool:
    """True when the TimescaleDB library sits beside this server (Debian layout: `<version>/lib`)."""
    return (binaries.parent / "lib" / "timescaledb.so").is_file()


def local_mode(settings: Settings) -> str:
    return settings.get_choice("POSTGRES_LOCAL", ("auto", "true", "false"))


def data_dir(settings: Settings) -> Path:
    configured = settings.get("POSTGRES_DATA_DIR").strip()
    return Path(os.path.expanduser(configured)) if configured else settings.state_dir / "postgres"


def connection_parameters(settings: Settings, database: str | None = None) -> dict[str, str | int]:
    """psycopg's connection keywords for the serving database (or another database of the server)."""
    return {
        "host": settings.get("POSTGRES_HOST"),
        "port": settings.get_int("POSTGRES_PORT"),
        "dbname": database or settings.get("POSTGRES_DB"),
        "user": settings.get("POSTGRES_USER"),
        "password": settings.get("POSTGRES_PASSWORD"),
        "connect_timeout": 5,
        # A server that stops answering mid-copy is noticed in about 25 s (TCP keepalives), not after hours.
        "keepalives": 1,
        "keepalives_idle": 10,
        "keepalives_interval": 5,
        "keepalives_count": 3,
    }


def connect(settings: Settings, database: str | None = None, autocommit: bool = False):
    """A connection to the server; ServiceUnavailable with the address when it does not answer."""
    import psycopg

    parameters = connection_parameters(settings, database)
    if not parameters["password"]:
        raise SettingsError("LAKEHOUSE_POSTGRES_PASSWORD est vide : lancez `make setup` (il le génère)")
    try:
        return psycopg.connect(**parameters, autocommit=autocommit)
    except psycopg.OperationalError as error:
        raise ServiceUnavailable(
            f"PostgreSQL injoignable sur {parameters['host']}:{parameters['port']} "
            f"(base {parameters['dbname']}) : {str(error).strip().splitlines()[-1]}"
        ) from None


def _run_as() -> str | None:
    """The system user the server runs as: `postgres` when we are root, else ourselves (None)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        raise ServiceError(
            f"PostgreSQL refuse de tourner en root et l'utilisateur système {SYSTEM_USER} n'existe pas : {INSTALL_HINT}"
        ) from None
    return SYSTEM_USER


def _check_traversable(folder: Path, user: str) -> None:
    """Every parent of `folder` must let `user` through (its data folder under a 0700 folder of root would not)."""
    account = pwd.getpwnam(user)
    groups = {account.pw_gid} | {group.gr_gid for group in grp.getgrall() if user in group.gr_mem}
    for parent in [folder, *folder.parents]:
        if not parent.exists():
            continue
        mode = parent.stat()
        allowed = (
            mode.st_mode & stat.S_IXOTH
            or (mode.st_gid in groups and mode.st_mode & stat.S_IXGRP)
            or (mode.st_uid == account.pw_uid and mode.st_mode & stat.S_IXUSR)
        )
        if not allowed:
            raise ServiceError(
                f"le serveur PostgreSQL tourne sous l'utilisateur {user}, qui ne peut pas traverser {parent} ; "
                "choisissez LAKEHOUSE_POSTGRES_DATA_DIR ailleurs (par exemple /var/lib/lakehouse/postgres)"
            )


class PostgresServer(Service):
    name = "postgres"
    label = "PostgreSQL (copie de service de gold)"
    stop_signal = signal.SIGINT  # fast shutdown: open sessions are ended, nothing waits for clients

    def enabled(self, settings: Settings) -> bool:
        mode = local_mode(settings)
        return mode == "true" or (mode == "auto" and bin_dir(settings) is not None)

    def disabled_reason(self) -> str:
        return "non démarré par make up (LAKEHOUSE_POSTGRES_LOCAL=false, ou auto sans le paquet postgresql)"

    def cluster_dir(self, settings: Settings) -> Path:
        return data_dir(settings) / "data"

    def marker(self, settings: Settings) -> str:
        return f"-D {self.cluster_dir(settings)} -p {settings.get_int('POSTGRES_PORT')}"

    def ports(self, settings: Settings) -> list[Port]:
        host, port = settings.get("POSTGRES_HOST"), settings.get_int("POSTGRES_PORT")
        return [Port(host, port, "PostgreSQL", "LAKEHOUSE_POSTGRES_PORT")]

    def _binaries(self, settings: Settings) -> Path:
        folder = bin_dir(settings)
        if folder is None or not (folder / "postgres").is_file() or not (folder / "initdb").is_file():
            raise ServiceError(f"PostgreSQL introuvable ({folder or DEBIAN_ROOT}/postgres) : {INSTALL_HINT}")
        return folder

    def _initdb(self, settings: Settings, binaries: Path, user: str | None) -> None:
        cluster = self.cluster_dir(settings)
        password_file = write_private(data_dir(settings) / "initdb.pw", settings.get("POSTGRES_PASSWORD") + "\n")
        if user:
            account = pwd.getpwnam(user)
            os.chown(password_file, account.pw_uid, account.pw_gid)
        command = [
            str(binaries / "initdb"),
            "-D",
            str(cluster),
            "-U",
            settings.get("POSTGRES_USER"),
            f"--pwfile={password_file}",
            "--auth-host=scram-sha-256",
            "--auth-local=scram-sha-256",
            "-E",
            "UTF8",
            "--no-locale",
        ]
        try:
            result = subprocess.run(command, capture_output=True, text=True, user=user, timeout=120)
        finally:
            password_file.unlink(missing_ok=True)
        if result.returncode != 0:
            lines = (result.stderr or result.stdout).strip().splitlines()
            raise ServiceError(f"initdb a échoué ({lines[-1] if lines else result.returncode}) ; dossier : {cluster}")

    def launch(self, settings: Settings) -> Launch:
        if not settings.get("POSTGRES_PASSWORD"):
            raise SettingsError("LAKEHOUSE_POSTGRES_PASSWORD est vide : lancez `make setup` (il le génère)")
        binaries = self._binaries(settings)
        user = _run_as()
        folder = data_dir(settings)
        folder.mkdir(parents=True, exist_ok=True)
        if user:  # the server's own folder, and a way to it
            account = pwd.getpwnam(user)
            os.chown(folder, account.pw_uid, account.pw_gid)
            _check_traversable(folder.parent, user)
        if not (self.cluster_dir(settings) / "PG_VERSION").is_file():
            self._initdb(settings, binaries, user)
        command = [
            str(binaries / "postgres"),
            *self.marker(settings).split(),
            "-c",
            f"listen_addresses={settings.get('POSTGRES_HOST')}",
            "-c",
            "unix_socket_directories=",
        ]
        if timescaledb_installed(binaries):  # its extension can be created only when the library is preloaded
            command += ["-c", "shared_preload_libraries=timescaledb"]
        return Launch(command=command, env=dict(os.environ), cwd=folder, user=user)

    def probe(self, settings: Settings) -> str:
        with connect(settings, database="postgres", autocommit=True) as connection:
            version = connection.execute("show server_version").fetchone()[0]
        return f"PostgreSQL {version} OK"


def ensure_database(settings: Settings) -> str:
    """Create the serving database when it does not exist yet (idempotent); one line for the user."""
    from psycopg import sql

    name = settings.get("POSTGRES_DB")
    with connect(settings, database="postgres", autocommit=True) as connection:
        if connection.execute("select 1 from pg_database where datname = %s", (name,)).fetchone():
            return f"base {name} déjà présente"
        connection.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    return f"base {name} créée"
