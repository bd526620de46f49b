"""The report of each `make run`: a JSON file per run under `<state>/runs/`, Prometheus metrics, `make status`.

- `<state>/runs/run-<UTC time>.json`: the steps (status, duration, summary, and the facts each step
  gives: records landed per stream, files registered and quarantined per table, dbt node statuses,
  maintenance actions per table, passages indexed), then every table with its rows, data files,
  current snapshot and the snapshots the run created, then the freshness of each source. Written when
  the run ends, failed or not; `last-run.json` is a copy of the latest.
- the Prometheus text file (`LAKEHOUSE_METRICS_FILE`, by default `<state>/runs/lakehouse.prom`), for
  node_exporter's textfile collector: `lakehouse_*` metrics (see `prometheus_text`). Written atomically,
  readable by all (the collector runs as another user); the last success timestamp survives a failed run.
- freshness per source: the age of the newest `_airbyte_extracted_at` of each bronze table, read from
  the Iceberg file statistics (no data read), against the thresholds of `conf/streams.toml`, the same
  ones dbt's source freshness uses.
"""

from __future__ import annotations

import json
import os
import textwrap
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lakehouse.core.numbers import number
from lakehouse.core.settings import Settings

LAST_RUN = "last-run.json"
IN_PROGRESS = "in-progress.json"  # the step a running `make run` is at (removed when it ends)
LOADED_AT = "_airbyte_extracted_at"


@dataclass
class StepRecord:
    name: str
    status: str  # "ok" | "failed"
    seconds: float
    summary: str = ""
    facts: dict = field(default_factory=dict)
    # Spark tasks the step ran, per application and executor ("<id>@<host:port>"), when the web UIs are on
    executor_tasks: dict = field(default_factory=dict)


@dataclass
class TableRecord:
    table: str  # namespace.table
    rows: int
    data_files: int
    snapshot_id: str
    snapshots_created: int


@dataclass
class Freshness:
    source: str  # the stream, as in conf/streams.toml and dbt's sources
    newest: str | None  # ISO time of the newest record landed, None when the table is empty or absent
    age_seconds: float | None
    warn_after_days: int
    error_after_days: int

    @property
    def status(self) -> str:
        if self.age_seconds is None:
            return "inconnue"
        days = self.age_seconds / 86400
        return "erreur" if days > self.error_after_days else "alerte" if days > self.warn_after_days else "ok"


@dataclass
class RunReport:
    run_id: str
    started_at: str
    finished_at: str = ""
    status: str = "running"  # "success" | "failed"
    failed_step: str | None = None
    error: str | None = None
    seconds: float = 0.0
    steps: list[StepRecord] = field(default_factory=list)
    tables: list[TableRecord] = field(default_factory=list)
    freshness: list[Freshness] = field(default_factory=list)
    launched_by: str = "make run"  # or "dagster <run id>": a run of the orchestrator (make orchestrator)

    def to_json(self) -> str:
        body = asdict(self)
        for item, fresh in zip(body["freshness"], self.freshness, strict=True):
            item["status"] = fresh.status
        return json.dumps(body, ensure_ascii=False, indent=2) + "\n"


def runs_dir(settings: Settings) -> Path:
    return settings.state_dir / "runs"


def metrics_file(settings: Settings) -> Path:
    configured = settings.get("METRICS_FILE").strip()
    return Path(configured).expanduser() if configured else runs_dir(settings) / "lakehouse.prom"


def new_report(now: datetime | None = None) -> RunReport:
    now = now or datetime.now(UTC)
    return RunReport(run_id=now.strftime("%Y%m%dT%H%M%S%fZ"), started_at=now.isoformat(timespec="seconds"))


# -- what the lake says after the run ---------------------------------------------------------------
def table_records(settings: Settings, since_ms: int) -> list[TableRecord]:
    """Every table of the lakehouse namespaces: rows, data files, current snapshot, snapshots since `since_ms`."""
    from lakehouse.core.clients import iceberg_catalog

    catalog = iceberg_catalog(settings)
    records = []
    for namespace in settings.namespaces:
        for identifier in sorted(catalog.list_tables(namespace)):
            table = catalog.load_table(identifier)
            snapshot = table.current_snapshot()
            summary = snapshot.summary if snapshot else None
            created = sum(1 for s in table.snapshots() if s.timestamp_ms >= since_ms)
            records.append(
                TableRecord(
                    f"{namespace}.{identifier[-1]}",
                    int(summary.get("total-records", 0)) if summary else 0,
                    int(summary.get("total-data-files", 0)) if summary else 0,
                    str(snapshot.snapshot_id) if snapshot else "",
                    created,
                )
            )
    return records


def _newest_loaded_at(table: Any) -> datetime | None:
    """The upper bound of `_airbyte_extracted_at` over the table's data files (Iceberg statistics)."""
    if table.current_snapshot() is None:
        return None
    files = table.inspect.files().select(["readable_metrics"]).to_pylist()
    bounds = [
        f["readable_metrics"][LOADED_AT]["upper_bound"]
        for f in files
        if f["readable_metrics"] and f["readable_metrics"].get(LOADED_AT)
    ]
    bounds = [b for b in bounds if b is not None]
    if not bounds:
        return None
    newest = max(bounds)
    return newest if newest.tzinfo else newest.replace(tzinfo=UTC)


def source_freshness(settings: Settings, now: datetime | None = None) -> list[Freshness]:
    from pyiceberg.exceptions import NoSuchTableError

    from lakehouse.core.clients import iceberg_catalog
    from lakehouse.core.streams import load_streams

    now = now or datetime.now(UTC)
    catalog = iceberg_catalog(settings)
    namespace = settings.get("BRONZE_NAMESPACE")
    result = []
    for name, spec in load_streams().items():
        try:
            newest = _newest_loaded_at(catalog.load_table((namespace, name)))
        except NoSuchTableError:
            newest = None
        result.append(
            Freshness(
                name,
                newest.isoformat(timespec="seconds") if newest else None,
                (now - newest).total_seconds() if newest else None,
                spec.freshness_warn_days,
                spec.freshness_error_days,
            )
        )
    return result


# -- writing -----------------------------------------------------------------------------------------
def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def _previous_success(path: Path) -> float | None:
    """The last success timestamp of the metrics file already written, if any (kept by a failed run)."""
    try:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("lakehouse_last_success_timestamp_seconds "):
                return float(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def prometheus_text(report: RunReport, finished: datetime, last_success: float | None) -> str:
    """The metrics of a run in Prometheus' text format (one HELP and TYPE per metric)."""
    families: list[tuple[str, str, list[tuple[dict[str, str], float]]]] = []

    def family(name: str, help_text: str, samples: list[tuple[dict[str, str], float]]) -> None:
        families.append((name, help_text, samples))

    success = report.status == "success"
    if success:
        last_success = finished.timestamp()
    family("lakehouse_run_success", "1 si la dernière exécution de make run a réussi, 0 sinon", [({}, float(success))])
    family("lakehouse_run_timestamp_seconds", "fin de la dernière exécution (epoch)", [({}, finished.timestamp())])
    family("lakehouse_run_duration_seconds", "durée de la dernière exécution", [({}, report.seconds)])
    if last_success is not None:
        family("lakehouse_last_success_timestamp_seconds", "fin de la dernière exécution réussie", [({}, last_success)])
    family(
        "lakehouse_step_duration_seconds",
        "durée de chaque étape de la dernière exécution",
        [({"step": s.name, "status": s.status}, s.seconds) for s in report.steps],
    )
    landed = [
        ({"stream": stream}, float(count))
        for s in report.steps
        for stream, count in s.facts.get("records_landed", {}).items()
    ]
    family("lakehouse_records_landed", "enregistrements déposés par flux lors de la dernière exécution", landed)
    quarantined = [
        ({"stream": stream}, float(count))
        for s in report.steps
        for stream, count in s.facts.get("files_quarantined", {}).items()
    ]
    family("lakehouse_quarantined_files", "fichiers mis en quarantaine lors de la dernière exécution", quarantined)
    family(
        "lakehouse_table_rows",
        "lignes de chaque table (snapshot courant)",
        [({"table": t.table}, t.rows) for t in report.tables],
    )
    family(
        "lakehouse_table_data_files",
        "fichiers de données de chaque table (snapshot courant)",
        [({"table": t.table}, t.data_files) for t in report.tables],
    )
    family(
        "lakehouse_table_snapshots_created",
        "snapshots créés par la dernière exécution",
        [({"table": t.table}, t.snapshots_created) for t in report.tables],
    )
    known = [f for f in report.freshness if f.age_seconds is not None]
    family(
        "lakehouse_source_freshness_seconds",
        "âge du dernier enregistrement déposé de chaque source",
        [({"source": f.source}, f.age_seconds) for f in known],
    )
    for bound, attribute in (("warn", "warn_after_days"), ("error", "error_after_days")):
        family(
            f"lakehouse_source_freshness_{bound}_seconds",
            f"seuil de fraîcheur « {bound} » de chaque source (conf/streams.toml, comme dbt)",
            [({"source": f.source}, getattr(f, attribute) * 86400.0) for f in report.freshness],
        )
    lines: list[str] = []
    for name, help_text, samples in families:
        if not samples:
            continue
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
        for labels, value in samples:
            rendered = ",".join(f'{key}="{_label(val)}"' for key, val in labels.items())
            lines.append(f"{name}{{{rendered}}} {value:g}" if rendered else f"{name} {value:g}")
    return "\n".join(lines) + "\n"


def _write_public(path: Path, text: str) -> None:
    """Atomic write, readable by all (node_exporter reads the metrics as another user)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.chmod(0o644)
    os.replace(tmp, path)


def write_report(settings: Settings, report: RunReport, finished: datetime | None = None) -> Path:
    """Write the run's JSON report, `last-run.json` and the metrics file; the report's path."""
    finished = finished or datetime.now(UTC)
    report.finished_at = finished.isoformat(timespec="seconds")
    folder = runs_dir(settings)
    path = folder / f"run-{report.run_id}.json"
    text = report.to_json()
    _write_public(path, text)
    _write_public(folder / LAST_RUN, text)
    metrics = metrics_file(settings)
    _write_public(metrics, prometheus_text(report, finished, _previous_success(metrics)))
    return path


def record_progress(settings: Settings, started_at: str, index: int, total: int, step: str) -> None:
    """Say which step the running `make run` is at (what `make status` shows while it runs)."""
    body = {"pid": os.getpid(), "started_at": started_at, "index": index, "total": total, "step": step}
    body["step_started_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    _write_public(runs_dir(settings) / IN_PROGRESS, json.dumps(body))


def clear_progress(settings: Settings) -> None:
    (runs_dir(settings) / IN_PROGRESS).unlink(missing_ok=True)


def run_in_progress(settings: Settings) -> dict | None:
    """The running `make run`'s progress, or None (none recorded, or its process is gone)."""
    try:
        body = json.loads((runs_dir(settings) / IN_PROGRESS).read_text(encoding="utf-8"))
        os.kill(int(body["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return body


def format_in_progress(body: dict, now: datetime | None = None) -> str:
    since = (now or datetime.now(UTC)) - datetime.fromisoformat(body["step_started_at"])
    return (
        f"exécution en cours (make run, PID {body['pid']}, commencée le {body['started_at']}) : étape "
        f"{body['index']}/{body['total']} {body['step']} depuis {number(since.total_seconds())} s"
    )


# -- reading (make status) ----------------------------------------------------------------------------
def runs_launched_by(settings: Settings, launched_by: str) -> list[dict]:
    """The reports of the runs `launched_by` launched (e.g. "dagster <run id>"), oldest first."""
    found = []
    for path in sorted(runs_dir(settings).glob("run-*.json")):
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if body.get("launched_by", "make run") == launched_by:
            found.append(body)
    return found


def last_run(settings: Settings) -> dict | None:
    try:
        return json.loads((runs_dir(settings) / LAST_RUN).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def format_last_run(body: dict) -> list[str]:
    """The last run, as `make status` prints it."""
    verdict = "réussie" if body["status"] == "success" else f"en échec à l'étape « {body.get('failed_step')} »"
    who = body.get("launched_by", "make run")
    lines = [f"dernière exécution ({who}) : {body['started_at']}, {verdict}, {number(body['seconds'])} s"]
    for step in body["steps"]:
        mark = "OK" if step["status"] == "ok" else "ÉCHEC"
        head = f"  {step['name']:<10} {mark:<5} {number(step['seconds'], 1):>7} s  "
        summary = textwrap.wrap(step["summary"], width=110 - len(head)) or [""]
        lines.append(head + summary[0])
        lines += [" " * len(head) + part for part in summary[1:]]
        for application, executors in step.get("executor_tasks", {}).items():
            where = ", ".join(f"{executor} : {count}" for executor, count in sorted(executors.items()))
            lines.append(f"  {'':<10} tâches Spark de {application} par exécuteur — {where}")
    if body.get("error"):
        lines += textwrap.wrap(body["error"], width=110, initial_indent="  erreur : ", subsequent_indent="    ")
    for fresh in body.get("freshness", []):
        age = "inconnue" if fresh["age_seconds"] is None else f"{number(fresh['age_seconds'] / 86400, 1)} j"
        lines.append(
            f"  fraîcheur {fresh['source']:<32} {age:>10}  {fresh['status']} "
            f"(alerte > {fresh['warn_after_days']} j, erreur > {fresh['error_after_days']} j)"
        )
    created = sum(t["snapshots_created"] for t in body.get("tables", []))
    lines.append(f"  {len(body.get('tables', []))} tables, {created} snapshot(s) créé(s) par cette exécution")
    return lines
