"""The README's commands, run as written: every command of its `bash`, `python` and `sql` blocks, on the fault
suite's lake (`recovered_lake`: built by `make run`, with its own stack and settings file).

The blocks are read from README.md itself, so a command added to the README is run here the next time.
Placeholders are filled as a reader would: `<snapshot_id>` with the current snapshot of the table the line
names, `<aaaa-mm-jj hh:mm:ss>` with the current UTC time. A few commands are not run, each for a stated
reason (`NOT_RUN`). Each must end with status 0, without « ERREUR » or a Python traceback.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from lakehouse.core.clients import iceberg_catalog
from lakehouse.core.settings import PROJECT_ROOT
from lakehouse.services import service_named

pytestmark = pytest.mark.integration

README = PROJECT_ROOT / "README.md"
NOT_RUN = {
    "make test": "c'est la commande qui lance ce test",
    "make format": "réécrit les fichiers du dépôt",
    "make lint": "make test le lance avant les tests",
    "make orchestrator": "test_orchestrator la lance sur la pile de test, puis en ouvre la page dans Chromium",
    "docker compose": "pas de moteur Docker sur cette machine ; test_docker_compose valide docker-compose.yml",
}
TABLE_ON_LINE = re.compile(r"TABLE=(\w+\.\w+)|lakehouse\.(\w+\.\w+)|\"(\w+\.\w+)\": <snapshot_id>")


def readme_blocks() -> list[tuple[str, int, str]]:
    """(language, line, code) of every bash, python and sql block of the README."""
    text = README.read_text(encoding="utf-8")
    return [
        (match.group(1), text[: match.start()].count("\n") + 1, match.group(2))
        for match in re.finditer(r"```(bash|python|sql)\n(.*?)```", text, re.S)
    ]


def commands(code: str) -> list[str]:
    """The commands of a bash or sql block: continuation lines joined, comment-only lines dropped."""
    joined = re.sub(r"\\\n\s*", " ", code)
    return [line for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_the_readme_blocks_are_found():
    blocks = readme_blocks()
    assert {language for language, _, _ in blocks} == {"bash", "python", "sql"}
    assert sum(len(commands(code)) for language, _, code in blocks if language == "bash") >= 15


def _fill(line: str, settings) -> str:
    if "<snapshot_id>" in line:
        match = TABLE_ON_LINE.search(line)
        assert match, f"README : « {line} » : quelle table pour <snapshot_id> ?"
        table = next(group for group in match.groups() if group)
        snapshot = iceberg_catalog(settings).load_table(table).current_snapshot().snapshot_id
        line = line.replace("<snapshot_id>", str(snapshot))
    return line.replace("<aaaa-mm-jj hh:mm:ss>", datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"))


def _run(command: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600)


def _check(what: str, result: subprocess.CompletedProcess) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"README : {what}\n{output[-3000:]}"
    assert "ERREUR" not in output and "Traceback" not in output, f"README : {what}\n{output[-3000:]}"


def test_every_readme_command_runs_as_written(recovered_lake):
    settings = recovered_lake.settings
    env = {key: value for key, value in os.environ.items() if not key.startswith("LAKEHOUSE_")}
    env["LAKEHOUSE_ENV_FILE"] = str(recovered_lake.env_file)
    ran, skipped = [], []
    try:
        for language, line, code in readme_blocks():
            if language == "python":
                script = _fill(code, settings)
                _check(f"bloc python de la ligne {line}", _run([sys.executable, "-c", script], env))
                ran.append(f"python (ligne {line})")
                continue
            for command in commands(code):
                reason = next((why for start, why in NOT_RUN.items() if command.startswith(start)), None)
                if command.startswith("make psql") and not service_named("postgres").enabled(settings):
                    reason = "pas de serveur PostgreSQL sur cette machine (`make test-tools` l'installe)"
                if reason:
                    skipped.append(f"{command.split('#')[0].strip()} : {reason}")
                    continue
                filled = _fill(command, settings)
                if language == "sql":
                    _check(filled, _run(["make", "-s", "beeline", f"SQL={filled.rstrip(';')}"], env))
                elif command.startswith("make down"):
                    continue  # last, below: the other commands need the stack
                else:
                    _check(filled, _run(["bash", "-c", filled], env))
                ran.append(filled.split("#")[0].strip())
    finally:
        _check("make down", _run(["make", "-s", "down"], env))
    assert len(ran) >= 15 and any(c.startswith("make notebook") for c in ran), ran
    print("\n".join(["lancées :", *ran, "non lancées :", *skipped]))
