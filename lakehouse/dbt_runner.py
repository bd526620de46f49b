"""Run dbt on the project in `dbt/` with the lakehouse settings (the profile reads them with env_var)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from lakehouse.core.errors import LakehouseError
from lakehouse.core.settings import PROJECT_ROOT, Settings

DBT_DIR = PROJECT_ROOT / "dbt"
# The target that writes the published namespaces silver and gold (profiles.yml); `make run` always uses it.
PUBLISHED_TARGET = "prod"


class DbtFailed(LakehouseError):
    """dbt ended in error; the message names the failed nodes."""


def dbt_command(settings: Settings, arguments: list[str]) -> tuple[list[str], dict[str, str], Path]:
    """The dbt command line, its environment (settings exported) and working folder."""
    env = {**os.environ, **settings.as_environment(), "DBT_PROFILES_DIR": str(DBT_DIR)}
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    command = [str(Path(sys.executable).parent / "dbt"), *arguments]
    if arguments and arguments[0] not in ("--version", "-h", "--help"):
        command += ["--project-dir", str(DBT_DIR)]
    return command, env, DBT_DIR


def failed_nodes(run_results: Path) -> list[str]:
    results = json.loads(run_results.read_text())["results"]
    return [
        f"{r['unique_id']} ({r['status']}: {(r.get('message') or '').strip()[:200]})"
        for r in results
        if r["status"] in ("error", "fail", "runtime error")
    ]


def dbt_build(settings: Settings) -> str:
    """`dbt build` (seeds, models, tests) of silver and gold, whatever DBT_TARGET says; return a one-line
    summary or raise DbtFailed."""
    command, env, cwd = dbt_command(settings, ["build", "--no-use-colors", "--target", PUBLISHED_TARGET])
    result = subprocess.run(command, env=env, cwd=cwd)
    run_results = DBT_DIR / "target" / "run_results.json"
    if result.returncode != 0:
        failures = failed_nodes(run_results) if run_results.exists() else []
        raise DbtFailed(
            "dbt build en échec" + (" : " + "; ".join(failures[:5]) if failures else f" (code {result.returncode})")
        )
    results = json.loads(run_results.read_text())["results"]
    counts: dict[str, int] = {}
    for node in results:
        counts[node["status"]] = counts.get(node["status"], 0) + 1
    return ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))
