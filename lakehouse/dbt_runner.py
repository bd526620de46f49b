"""Run dbt on the project in `dbt/` with the lakehouse settings (the profile reads them with env_var)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from lakehouse.core.children import die_with_parent
from lakehouse.core.errors import LakehouseError
from lakehouse.core.numbers import seconds
from lakehouse.core.settings import PROJECT_ROOT, Settings

DBT_DIR = PROJECT_ROOT / "dbt"


def build_target_dir(settings: Settings) -> Path:
    """Where `make run`'s builds write dbt's artifacts (manifest, run results): a folder of the lake's own,
    so that a dbt command run meanwhile from the same checkout (`make dbt-docs`, another lake's build)
    never replaces the manifest the build state keeps."""
    return settings.state_dir / "builds" / "dbt-target"


def build_results(settings: Settings, since: float) -> dict[str, dict]:
    """dbt's result of each node (status, failures, message) of `make run`'s build started at `since` (epoch
    seconds); empty when dbt did not run since."""
    path = build_target_dir(settings) / "run_results.json"
    if not path.exists() or path.stat().st_mtime < since:
        return {}
    return {node["unique_id"]: node for node in json.loads(path.read_text(encoding="utf-8"))["results"]}


# The target that writes the published namespaces silver and gold (profiles.yml); `make run` always uses it.
PUBLISHED_TARGET = "prod"


# The target that writes the same tables on an Iceberg audit branch (Write-Audit-Publish).
AUDIT_TARGET = "audit"


# dbt subcommands that write tables (the others only read or compile): they run under the lake's write lock.
WRITING_SUBCOMMANDS = frozenset(("run", "build", "seed", "snapshot", "run-operation", "clone", "retry"))


def dbt_writes(arguments: list[str]) -> bool:
    """Does this dbt command line write to the lake?"""
    return bool(arguments) and arguments[0] in WRITING_SUBCOMMANDS


def dbt_target(arguments: list[str]) -> str:
    """The profile target a dbt command line uses: `--target`/`-t`, else DBT_TARGET, else prod."""
    for index, argument in enumerate(arguments):
        if argument in ("--target", "-t") and index + 1 < len(arguments):
            return arguments[index + 1]
        if argument.startswith("--target="):
            return argument.split("=", 1)[1]
    return os.environ.get("DBT_TARGET", PUBLISHED_TARGET)


def writes_main(arguments: list[str]) -> bool:
    """Does this dbt command line write silver and gold on main, outside the audit (target prod)?"""
    return dbt_writes(arguments) and dbt_target(arguments) == PUBLISHED_TARGET


class DbtFailed(LakehouseError):
    """dbt ended in error; the message names the failed nodes, `lines` lists them one by one."""

    def __init__(self, message: str, lines: list[str] | None = None):
        super().__init__(message)
        self.lines = lines or []


def dbt_command(settings: Settings, arguments: list[str]) -> tuple[list[str], dict[str, str], Path]:
    """The dbt command line, its environment (settings exported) and working folder. dbt runs through
    `lakehouse.dbt_cli`: dbt's own command line, with PyHive reading the Thrift server's empty replies."""
    env = {**os.environ, **settings.as_environment(), "DBT_PROFILES_DIR": str(DBT_DIR)}
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    command = [sys.executable, "-m", "lakehouse.dbt_cli", *arguments]
    if arguments and arguments[0] not in ("--version", "-h", "--help"):
        command += ["--project-dir", str(DBT_DIR)]
    return command, env, DBT_DIR


def infrastructure_cause(settings: Settings) -> str | None:
    """After a failed dbt command: the service that stopped (the Thrift server, SeaweedFS or the catalog),
    in one line, or None when they all answer (the failure is then dbt's own: data, SQL)."""
    from lakehouse.core.service_watch import answers, silent_line, watched_services
    from lakehouse.services import service_named

    thrift = service_named("thrift").process(settings)
    if thrift.state() == "stale":
        return f"le serveur Thrift (PID {thrift.pid()}) s'est arrêté — journal : {thrift.log_file}"
    silent = [service for service in watched_services(settings, ("thrift", "s3", "catalog")) if not answers(service)]
    return silent_line(silent) if silent else None


def failed_nodes(run_results: Path) -> list[str]:
    """One French line per failed node: a data test with its count of offending rows, a model or
    unit test with the first line of its error."""
    lines = []
    for result in json.loads(run_results.read_text())["results"]:
        if result["status"] not in ("error", "fail", "runtime error"):
            continue
        kind, _, name = result["unique_id"].split(".")[:3]
        label = {"test": "test dbt", "unit_test": "test unitaire dbt", "model": "modèle"}.get(kind, kind)
        if result["status"] == "fail" and result.get("failures") is not None:
            lines.append(f"{label} {name} : {result['failures']} ligne(s) fautive(s)")
        else:
            message = (result.get("message") or "").strip().splitlines()
            lines.append(f"{label} {name} : erreur — {' '.join(message[:3])[:300]}")
    return lines


NODE_LINE = re.compile(r"^\S+\s+(\d+) of (\d+) (\S+)\b.*?(\S+) \.* \[(\S+)(?: (\d+))?(?: in ([\d.]+)s)?\]$")
NODE_STATUS = {
    "OK": "construit",
    "SUCCESS": "construit",
    "PASS": "réussi",
    "FAIL": "en échec",
    "WARN": "avertissement",
    "ERROR": "erreur",
    "SKIP": "sauté",
    "NO-OP": "rien à faire",
}


def dbt_line_in_french(line: str) -> str | None:
    """What `make run` shows of a line of dbt's log: a node that finished, in French (« dbt 12/90
    gold.gold_mart_uemoa_convergence : construit (1,2 s) »); an error or a warning of dbt as it is, after
    « dbt : » (and a fault point's pause); nothing for the rest (banner, node starts, totals: the step's
    summary says them)."""
    match = NODE_LINE.match(line.strip())
    if match:
        index, total, action, name, status, count, elapsed = match.groups()
        if action == "START":
            return None
        said = NODE_STATUS.get(status, status.lower())
        if count:
            said += f" ({count} ligne(s) en faute)" if status in ("FAIL", "WARN") else f" ({count})"
        took = f" ({seconds(float(elapsed))})" if elapsed else ""
        return f"    dbt {index}/{total} {name} : {said}{took}"
    text = line.split("  ", 1)[-1].strip() if re.match(r"^\d\d:\d\d:\d\d", line) else line.strip()
    if text.startswith("[faute]"):  # a fault suite's pause point in the macros (dbt/macros/fault_points.sql)
        return f"    dbt : {text}"
    if re.search(r"\b(error|erreur|warning|warn|failure|exception)\b", text, re.IGNORECASE) and "ERROR=0" not in text:
        return f"    dbt : {text}"
    return None


def dbt_build(
    settings: Settings,
    audit_branch: str | None = None,
    select: tuple[str, ...] = (),
    state_dir: Path | None = None,
    exclude_resource_types: tuple[str, ...] = (),
) -> str:
    """`dbt build` (seeds, models, tests) of silver and gold, whatever DBT_TARGET says, on main or, with
    `audit_branch`, on that Iceberg branch; return a one-line summary or raise DbtFailed.

    With `select`, only those dbt selectors (e.g. `source:bceao.raw_events+`, `state:modified+`, the
    latter comparing with the manifest in `state_dir`) and the tests of what they select, without the
    nodes of `exclude_resource_types` (e.g. `unit_test`)."""
    target = AUDIT_TARGET if audit_branch else PUBLISHED_TARGET
    artifacts = build_target_dir(settings)
    arguments = ["build", "--no-use-colors", "--target", target, "--target-path", str(artifacts)]
    if select:
        arguments += ["--select", *select]
    if state_dir is not None:
        arguments += ["--state", str(state_dir)]
    for resource_type in exclude_resource_types:
        arguments += ["--exclude-resource-type", resource_type]
    command, env, cwd = dbt_command(settings, arguments)
    if audit_branch:
        env["LAKEHOUSE_AUDIT_BRANCH"] = audit_branch
    with subprocess.Popen(
        command,
        env=env,
        cwd=cwd,
        preexec_fn=die_with_parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    ) as process:
        for line in process.stdout:  # dbt's log, as one French line per node finished
            shown = dbt_line_in_french(line.rstrip("\n"))
            if shown:
                print(shown, flush=True)
        returncode = process.wait()
    run_results = artifacts / "run_results.json"
    if returncode != 0:
        failures = failed_nodes(run_results) if run_results.exists() else []
        raise DbtFailed(
            "dbt build en échec" + (" : " + "; ".join(failures[:5]) if failures else f" (code {returncode})"),
            failures,
        )
    results = json.loads(run_results.read_text())["results"]
    counts: dict[str, int] = {}
    for node in results:
        counts[node["status"]] = counts.get(node["status"], 0) + 1
    return ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))
