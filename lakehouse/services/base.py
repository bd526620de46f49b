"""What every local service declares: its ports, its command, its health probe."""

from __future__ import annotations

import shutil
import signal
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from lakehouse.core.errors import LakehouseError
from lakehouse.core.settings import Settings
from lakehouse.services.process import ManagedProcess


class ServiceError(LakehouseError):
    """A service could not be started, stopped or reached; the message is one line for the user."""


def installed_command(name: str, package: str) -> Path:
    """A command of a package of this environment (its scripts folder first, then PATH)."""
    candidate = Path(sysconfig.get_path("scripts")) / name
    if candidate.is_file():
        return candidate
    found = shutil.which(name)
    if found:
        return Path(found)
    raise ServiceError(f"commande `{name}` introuvable : lancez `make setup` (il installe {package})")


@dataclass(frozen=True)
class Port:
    host: str
    port: int
    role: str
    setting: str

    def __str__(self) -> str:
        return f"{self.host}:{self.port} ({self.role})"


@dataclass(frozen=True)
class Launch:
    command: list[str]
    env: dict[str, str]
    cwd: Path
    user: str | None = None  # run as this system user (PostgreSQL refuses to run as root)


class Service:
    """Base class: subclasses set the names and implement ports, launch and probe."""

    name: str = ""
    label: str = ""
    on_demand: bool = False  # True: started by its own command, not by `make up` (still stopped by `make down`)
    provided_elsewhere: bool = False  # True: when not enabled, another server of the settings plays its part

    def enabled(self, settings: Settings) -> bool:
        """False for an optional service its settings leave off: `make up` skips it."""
        return True

    def disabled_reason(self) -> str:
        return "non configuré"

    def marker(self, settings: Settings) -> str:
        """A string found only in this stack's command line for the service (guards against PID reuse)."""
        raise NotImplementedError

    stop_signal: int = signal.SIGTERM

    def process(self, settings: Settings) -> ManagedProcess:
        return ManagedProcess(self.name, self.marker(settings), settings.run_dir, settings.log_dir, self.stop_signal)

    def ports(self, settings: Settings) -> list[Port]:
        raise NotImplementedError

    def main_port(self, settings: Settings) -> Port | str:
        ports = self.ports(settings)
        return ports[0] if ports else "sans port"

    def launch(self, settings: Settings) -> Launch:
        """Prepare the service's files and return how to start it."""
        raise NotImplementedError

    def probe(self, settings: Settings) -> str:
        """Check the service really answers; return a short description, raise ServiceUnavailable."""
        raise NotImplementedError
