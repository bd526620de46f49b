"""Run `python -m lakehouse ...` as a user would, against a chosen settings file only."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from lakehouse.core.settings import PROJECT_ROOT


def run_cli(
    *args: str, env_file: str | Path | None = None, timeout: float = 300, **extra_env: str
) -> subprocess.CompletedProcess:
    """The CLI in a subprocess; no LAKEHOUSE_* variable of the caller leaks in but the settings file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    env["LAKEHOUSE_ENV_FILE"] = str(env_file or os.environ["LAKEHOUSE_ENV_FILE"])
    env.update(extra_env)
    return subprocess.run(
        [sys.executable, "-m", "lakehouse", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
