"""The Dagster orchestrator (`make orchestrator`): its web page and its daemon, on one local instance.

Both are started on demand (not by `make up`) and stopped by `make down`. The instance lives under
`<state>/dagster/` (SQLite storage, telemetry off, at most one run at a time through Dagster's run queue);
its code location is `lakehouse.orchestrator.code_location`, loaded with the lakehouse settings exported to
the environment, so every run reads the same lake as `make run`.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

from lakehouse.core.clients import HTTP_TIMEOUT, ServiceUnavailable
from lakehouse.core.settings import PROJECT_ROOT, Settings
from lakehouse.services.base import Launch, Port, Service, installed_command

CODE_MODULE = "lakehouse.orchestrator.code_location"
LOCATION_NAME = "lakehouse"


def dagster_home(settings: Settings) -> Path:
    return settings.state_dir / "dagster"


def workspace_file(settings: Settings) -> Path:
    return dagster_home(settings) / "workspace.yaml"


def dagster_url(settings: Settings) -> str:
    return f"http://{settings.get('DAGSTER_HOST')}:{settings.get_int('DAGSTER_PORT')}"


def write_instance(settings: Settings) -> Path:
    """The instance's `dagster.yaml` and `workspace.yaml` (JSON is YAML): storage, run queue, code location."""
    home = dagster_home(settings)
    home.mkdir(parents=True, exist_ok=True)
    instance = {
        "storage": {"sqlite": {"base_dir": str(home / "storage")}},
        "local_artifact_storage": {
            "module": "dagster._core.storage.root",
            "class": "LocalArtifactStorage",
            "config": {"base_dir": str(home / "artifacts")},
        },
        "compute_logs": {
            "module": "dagster._core.storage.local_compute_log_manager",
            "class": "LocalComputeLogManager",
            "config": {"base_dir": str(home / "compute_logs")},
        },
        # One run at a time: a scheduled run and a run launched from the page wait for each other in the queue.
        "run_coordinator": {
            "module": "dagster._core.run_coordinator",
            "class": "QueuedRunCoordinator",
            "config": {"max_concurrent_runs": 1},
        },
        "telemetry": {"enabled": False},
        "nux": {"enabled": False},
    }
    (home / "dagster.yaml").write_text(json.dumps(instance, indent=1) + "\n", encoding="utf-8")
    workspace = {
        "load_from": [
            {
                "python_module": {
                    "module_name": CODE_MODULE,
                    "location_name": LOCATION_NAME,
                    "working_directory": str(PROJECT_ROOT),
                    "executable_path": sys.executable,
                }
            }
        ]
    }
    workspace_file(settings).write_text(json.dumps(workspace, indent=1) + "\n", encoding="utf-8")
    return home


def ensure_manifest(settings: Settings) -> None:
    """The dbt manifest the definitions read (`lakehouse.orchestrator.dbt_assets`), written again when the dbt
    project changed since."""
    from lakehouse.orchestrator.dbt_assets import write_manifest

    write_manifest(settings, only_if_changed=True)


def environment(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        **settings.as_environment(),
        "DAGSTER_HOME": str(dagster_home(settings)),
        "DAGSTER_DISABLE_TELEMETRY": "1",
        "PYTHONPATH": str(PROJECT_ROOT),
    }


def launch_on_instance(settings: Settings, command: list[str]) -> Launch:
    """A Dagster command on the lake's instance and code location (the dbt manifest written first)."""
    home = write_instance(settings)
    ensure_manifest(settings)
    workspace = ["--workspace", str(workspace_file(settings))]
    return Launch(command=[*command, *workspace], env=environment(settings), cwd=home)


def graphql(settings: Settings, query: str, variables: dict | None = None, timeout: float = HTTP_TIMEOUT) -> dict:
    """The `data` of one GraphQL request to the web server; ServiceUnavailable when it does not answer."""
    request = urllib.request.Request(
        f"{dagster_url(settings)}/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}).encode("utf-8"),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise ServiceUnavailable(f"page Dagster injoignable sur {dagster_url(settings)} : {error}") from None
    if body.get("errors"):
        raise ServiceUnavailable(f"page Dagster : {body['errors'][0].get('message')}")
    return body["data"]


class DagsterWebserver(Service):
    name = "dagster"
    label = "Page Dagster (make orchestrator)"
    on_demand = True

    def marker(self, settings: Settings) -> str:
        return f"--port {settings.get_int('DAGSTER_PORT')}"

    def ports(self, settings: Settings) -> list[Port]:
        return [Port(settings.get("DAGSTER_HOST"), settings.get_int("DAGSTER_PORT"), "HTTP", "LAKEHOUSE_DAGSTER_PORT")]

    def launch(self, settings: Settings) -> Launch:
        address = ["--host", settings.get("DAGSTER_HOST"), "--port", str(settings.get_int("DAGSTER_PORT"))]
        return launch_on_instance(
            settings, [str(installed_command("dagster-webserver", "dagster-webserver")), *address]
        )

    def probe(self, settings: Settings) -> str:
        data = graphql(settings, "{ version repositoriesOrError { __typename } }")
        if data["repositoriesOrError"]["__typename"] != "RepositoryConnection":
            raise ServiceUnavailable("page Dagster : le code du lakehouse n'est pas (encore) chargé")
        return f"page OK (Dagster {data['version']}) : {self.user_url(settings)}"

    def user_url(self, settings: Settings) -> str:
        return f"{dagster_url(settings)}/asset-groups"


class DagsterDaemon(Service):
    name = "dagster-daemon"
    label = "Démon Dagster (planification, file des runs)"
    on_demand = True

    def marker(self, settings: Settings) -> str:
        return f"run --workspace {workspace_file(settings)}"

    def ports(self, settings: Settings) -> list[Port]:
        return []

    def launch(self, settings: Settings) -> Launch:
        return launch_on_instance(settings, [str(installed_command("dagster-daemon", "dagster")), "run"])

    def probe(self, settings: Settings) -> str:
        """Healthy when every daemon the instance needs (scheduler, run queue, ...) sent a heartbeat since this
        process started (an earlier daemon's heartbeats stay in the instance)."""
        from dagster import DagsterInstance

        started = self.process(settings).pid_file.stat().st_mtime
        with DagsterInstance.from_config(str(dagster_home(settings))) as instance:
            statuses = instance.get_daemon_statuses()
        waiting = sorted(
            kind
            for kind, status in statuses.items()
            if not status.healthy or status.last_heartbeat is None or status.last_heartbeat.timestamp < started
        )
        if waiting:
            raise ServiceUnavailable(f"démon Dagster : pas encore de battement de {', '.join(waiting)}")
        return f"{len(statuses)} démons sains ({', '.join(sorted(statuses))})"
