"""JupyterLab for the notebooks (`make notebook`), on 127.0.0.1 with a token, offline.

Started on demand (not by `make up`), stopped by `make down`. Its configuration, runtime
files, user settings and workspaces live under `<state>/jupyter/`, never in the home folder.
Nothing calls the internet: the news feed and the update check are off, the extension
manager is read-only and the announcements plugin is disabled.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import requests

from lakehouse.core.clients import HTTP_TIMEOUT, ServiceUnavailable
from lakehouse.core.files import write_private
from lakehouse.core.notebook_kernel import KERNEL_NAME, install_kernel
from lakehouse.core.settings import PROJECT_ROOT, Settings
from lakehouse.services.base import Launch, Port, Service

NOTEBOOK_DIR = PROJECT_ROOT / "notebooks"
DISABLED_PLUGINS = {"@jupyterlab/apputils-extension:announcements": True}


class JupyterLab(Service):
    name = "jupyter"
    label = "JupyterLab"
    on_demand = True  # `make notebook` starts it, `make up` does not

    def marker(self, settings: Settings) -> str:
        return f"--ServerApp.port={settings.jupyter_port}"

    def ports(self, settings: Settings) -> list[Port]:
        return [Port(settings.jupyter_host, settings.jupyter_port, "HTTP", "LAKEHOUSE_JUPYTER_PORT")]

    def work_dir(self, settings: Settings) -> Path:
        return settings.state_dir / "jupyter"

    def environment(self, settings: Settings) -> dict[str, str]:
        work = self.work_dir(settings)
        env = dict(os.environ)
        env.update(
            {
                "JUPYTER_CONFIG_DIR": str(work / "config"),
                "JUPYTER_DATA_DIR": str(work / "data"),
                "JUPYTER_RUNTIME_DIR": str(work / "runtime"),
                "JUPYTERLAB_SETTINGS_DIR": str(work / "lab" / "user-settings"),
                "JUPYTERLAB_WORKSPACES_DIR": str(work / "lab" / "workspaces"),
                "IPYTHONDIR": str(work / "ipython"),
                "MPLCONFIGDIR": str(work / "matplotlib"),
                "PYSPARK_PYTHON": sys.executable,
            }
        )
        return env

    def launch(self, settings: Settings) -> Launch:
        work = self.work_dir(settings)
        install_kernel()
        page_config = work / "config" / "labconfig" / "page_config.json"
        page_config.parent.mkdir(parents=True, exist_ok=True)
        page_config.write_text(json.dumps({"disabledExtensions": DISABLED_PLUGINS}, indent=1) + "\n", encoding="utf-8")
        # the token goes through a config file (mode 0600), not the command line that `ps` shows
        write_private(
            work / "config" / "jupyter_server_config.json",
            json.dumps({"IdentityProvider": {"token": settings.jupyter_token}}, indent=1) + "\n",
        )
        command = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            f"--ServerApp.ip={settings.jupyter_host}",
            f"--ServerApp.port={settings.jupyter_port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={NOTEBOOK_DIR}",
            f"--MultiKernelManager.default_kernel_name={KERNEL_NAME}",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",
        ]
        if os.geteuid() == 0:  # containers and CI run as root; JupyterLab refuses that unless told
            command.append("--allow-root")
        return Launch(command=command, env=self.environment(settings), cwd=NOTEBOOK_DIR)

    def probe(self, settings: Settings) -> str:
        try:
            response = requests.get(
                f"{settings.jupyter_url}/api/status",
                headers={"Authorization": f"token {settings.jupyter_token}"},
                timeout=HTTP_TIMEOUT,
            )
        except requests.RequestException as error:
            raise ServiceUnavailable(f"JupyterLab injoignable sur {settings.jupyter_url} : {error}") from None
        if response.status_code != 200:
            raise ServiceUnavailable(f"JupyterLab : /api/status répond HTTP {response.status_code}")
        return f"API OK ({response.json().get('kernels', 0)} noyau(x) actif(s))"

    def user_url(self, settings: Settings) -> str:
        return f"{settings.jupyter_url}/lab?token={settings.jupyter_token}"
