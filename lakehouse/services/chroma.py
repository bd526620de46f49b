"""A local chroma server (`chroma run`, shipped by the chromadb package), for teams that want the search
index served over HTTP like in docker-compose rather than opened in each process.

Started by `make up` only when configured: `LAKEHOUSE_CHROMA_LOCAL_SERVER=true` with `LAKEHOUSE_CHROMA_URL`
on 127.0.0.1 (or localhost), whose port it listens on. Its data live under `<state>/chroma-server`.
The server is chroma's Rust server: it sends no product telemetry; it binds to 127.0.0.1 only, since
it has no authentication of its own.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import requests

from lakehouse.core.clients import HTTP_TIMEOUT, ServiceUnavailable
from lakehouse.core.settings import Settings, SettingsError
from lakehouse.services.base import Launch, Port, Service, installed_command

LOOPBACK = ("127.0.0.1", "localhost")


def chroma_binary() -> Path:
    return installed_command("chroma", "chromadb")


class ChromaServer(Service):
    name = "chroma"
    label = "Serveur chroma (recherche sémantique)"

    def enabled(self, settings: Settings) -> bool:
        if not settings.get_bool("CHROMA_LOCAL_SERVER"):
            return False
        url = settings.get("CHROMA_URL").strip()
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.hostname not in LOOPBACK or not parts.port:
            raise SettingsError(
                f"LAKEHOUSE_CHROMA_LOCAL_SERVER=true demande LAKEHOUSE_CHROMA_URL=http://127.0.0.1:<port> "
                f"(valeur actuelle : {url or 'vide'}) : c'est l'adresse où le serveur local écoute"
            )
        return True

    def disabled_reason(self) -> str:
        return "non démarré par make up (LAKEHOUSE_CHROMA_LOCAL_SERVER=false)"

    def _host_port(self, settings: Settings) -> tuple[str, int]:
        parts = urlsplit(settings.get("CHROMA_URL").strip())
        return "127.0.0.1", parts.port or 8000

    def data_dir(self, settings: Settings) -> Path:
        return settings.state_dir / "chroma-server"

    def marker(self, settings: Settings) -> str:
        return f"--path={self.data_dir(settings)}"

    def ports(self, settings: Settings) -> list[Port]:
        host, port = self._host_port(settings)
        return [Port(host, port, "HTTP", "LAKEHOUSE_CHROMA_URL")]

    def launch(self, settings: Settings) -> Launch:
        folder = self.data_dir(settings)
        folder.mkdir(parents=True, exist_ok=True)
        host, port = self._host_port(settings)
        command = [str(chroma_binary()), "run", f"--path={folder}", f"--host={host}", f"--port={port}"]
        env = {**os.environ, "ANONYMIZED_TELEMETRY": "False", "NO_COLOR": "1"}
        return Launch(command=command, env=env, cwd=folder)

    def probe(self, settings: Settings) -> str:
        host, port = self._host_port(settings)
        url = f"http://{host}:{port}/api/v2/heartbeat"
        try:
            response = requests.get(url, timeout=HTTP_TIMEOUT)
        except requests.RequestException as error:
            raise ServiceUnavailable(f"serveur chroma injoignable sur {host}:{port} : {error}") from None
        if response.status_code != 200:
            raise ServiceUnavailable(f"serveur chroma : /api/v2/heartbeat répond HTTP {response.status_code}")
        return "API OK"
