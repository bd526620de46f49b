"""`make run`: the whole pipeline, step by step, then a summary of the tables.

Each step is a named callable; later stages (ingest, register, dbt build, maintenance)
add themselves to `STEPS`. One progress line per step with its duration; the first
failing step stops the run with a non-zero exit code and its name. A step may return, with
its summary, the facts the run report keeps (`run_report`): the report and the metrics are
written when the run ends, failed or not.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from lakehouse import run_report, stack
from lakehouse.core.errors import LakehouseError, first_line
from lakehouse.core.numbers import number
from lakehouse.core.numbers import seconds as fr_seconds
from lakehouse.core.reporting import Reporter, indented
from lakehouse.core.service_watch import JobDied, ServiceDown, watching
from lakehouse.core.settings import Settings
from lakehouse.core.spark_status import executor_tasks, tasks_between

STEP_DETAIL = indented(print)


@dataclass(frozen=True)
class StepResult:
    summary: str
    facts: dict  # for the run report: counts per stream or table, dbt node statuses, ...


@dataclass(frozen=True)
class Step:
    name: str
    description: str
    run: Callable[[Settings], str | StepResult | None]
    services: tuple[str, ...] = ()  # watched while the step runs (`service_watch`): s3, catalog, thrift, ...
    # What the user must know about the lake once the step failed (e.g. "nothing was published"), or None.
    after_failure: Callable[[Settings], str | None] | None = None
    # Seconds the step takes in a first `make run` on the sample data, 2 cores (bench first_run, median):
    # announced at its start when no earlier run of this lake says better.
    first_run_s: float = 0.0


LONG_STEP_S = 10.0  # a step expected to last longer is announced with its expected duration


def _expected_line(step: Step, previous: dict[str, float]) -> str:
    """« (environ 71 s : premier passage sur 2 cœurs) », « (34 s la dernière fois) », or nothing for a short step."""
    if step.name in previous:
        seconds = previous[step.name]
        return f" (environ {number(seconds)} s la dernière fois)" if seconds >= LONG_STEP_S else ""
    if step.first_run_s >= LONG_STEP_S:
        return f" (environ {number(step.first_run_s)} s pour un premier passage sur 2 cœurs)"
    return ""


def _previous_durations(settings: Settings) -> dict[str, float]:
    last = run_report.last_run(settings) or {}
    return {step["name"]: step["seconds"] for step in last.get("steps", []) if step.get("status") == "ok"}


def _start_stack(settings: Settings) -> str:
    reports: list[str] = []
    stack.up(settings, progress=reports.append)
    stack.recycle_bloated_thrift(settings, progress=reports.append)
    return "; ".join(line.split(" — ")[0] for line in reports)


def _ingest(settings: Settings, streams: list[str] | None = None) -> StepResult:
    from lakehouse.bceao_api import ingest_from_bceao

    reports = ingest_from_bceao(settings, streams, out=STEP_DETAIL)
    return StepResult(
        f"{sum(r.records_landed for r in reports)} enregistrements déposés en {sum(r.files for r in reports)} fichiers",
        {
            "records_landed": {r.stream: r.records_landed for r in reports},
            "files_landed": {r.stream: r.files for r in reports},
        },
    )


def _register(settings: Settings, streams: list[str] | None = None) -> StepResult:
    from lakehouse_spark.bronze_job import run_register

    results = run_register(settings, streams, out=STEP_DETAIL)
    rejected = sum(len(r.rejected) for r in results)
    return StepResult(
        f"{number(sum(r.files for r in results))} fichiers, {number(sum(r.rows for r in results))} lignes "
        "enregistrés dans bronze" + (f", {rejected} en quarantaine" if rejected else "") + " ; réconciliation OK",
        {
            "files_registered": {r.stream: r.files for r in results},
            "rows_registered": {r.stream: r.rows for r in results},
            "files_quarantined": {r.stream: len(r.rejected) for r in results},
        },
    )


def build_what_changed(settings: Settings, out: Reporter = STEP_DETAIL) -> str:
    """`make run`'s dbt step: build what changed since the last successful build (everything with
    FULL=1), audited when the audit is on, then remember this build; one-line summary."""
    from lakehouse.build_state import build_inputs, plan_build, save_build_state

    if settings.audit_enabled:
        from lakehouse.publication import settle_abandoned_audits

        # An audit published by a run killed before it could record it counts as built: not built again.
        settle_abandoned_audits(settings, out)
    # Before the plan: a source that changes between the plan and the build is then a change for the next
    # run, never recorded as built by a build that did not select it.
    inputs = build_inputs(settings)
    plan = None if settings.full_run else plan_build(settings)
    if plan is not None:
        if plan.nothing:
            return plan.reason
        out(
            f"construction complète : {plan.reason}"
            if plan.whole
            else f"construction partielle ({plan.reason}) : dbt build --select {' '.join(plan.select)}"
            + "".join(f" --exclude-resource-type {kind}" for kind in plan.excluded_resource_types)
        )
    if settings.audit_enabled:
        from lakehouse.publication import audited_build

        # The audit records the build state with its publication: a run killed just after it builds nothing again.
        return audited_build(settings, out=out, plan=plan, inputs=inputs)
    else:
        from lakehouse.dbt_runner import DbtFailed, dbt_build, infrastructure_cause

        try:
            summary = dbt_build(
                settings,
                select=plan.select if plan else (),
                state_dir=plan.state_dir if plan else None,
                exclude_resource_types=plan.excluded_resource_types if plan else (),
            )
        except DbtFailed:
            cause = infrastructure_cause(settings)
            if cause:
                raise LakehouseError(f"{cause} pendant dbt build : `make up`, puis `make run`") from None
            raise
    save_build_state(settings, inputs)
    return summary


def _dbt_build(settings: Settings) -> StepResult:
    """The dbt step of `make run`, with the status of each dbt node it ran (from dbt's run_results.json)."""
    from lakehouse.dbt_runner import build_results

    started = time.time()
    summary = build_what_changed(settings)
    nodes = {unique_id: node["status"] for unique_id, node in build_results(settings, started).items()}
    return StepResult(summary, {"dbt_nodes": nodes})


def _unpublished_audit(settings: Settings) -> str | None:
    """After a failed dbt step: say that nothing was published when its audit did not get that far."""
    from lakehouse.publication import AuditRecord

    record = AuditRecord.load_latest(settings) if settings.audit_enabled else None
    if record is None or record.status not in ("building", "interrupted"):
        return None
    return f"rien n'a été publié (main de silver et gold inchangé ; audit {record.branch} {record.status})"


def _maintain(settings: Settings) -> StepResult | str:
    from lakehouse.core.maintenance_policy import load_policy
    from lakehouse.publication import drop_stale_audit_branches
    from lakehouse_spark.maintenance import JOBS, run_maintenance
    from lakehouse_spark.maintenance_due import maintenance_due, record_maintained
    from lakehouse_spark.session import get_spark

    policy, now = load_policy(settings.maintenance_policy_file), datetime.now(UTC)
    skip: dict[str, str] = {}
    only: dict[str, tuple[str, ...]] = {}
    if not settings.full_run:
        try:
            decisions = maintenance_due(settings, policy, now)
        except Exception as error:  # undecidable from the metadata: maintain everything, Spark says what is wrong
            STEP_DETAIL(f"tables à maintenir non déterminées ({first_line(error)}) : toutes le seront")
            decisions = []
        skip = {decision.identifier: decision.reason for decision in decisions if not decision.due}
        only = {decision.identifier: decision.jobs for decision in decisions if decision.due}
        for decision in decisions:
            if decision.record_check:  # a metadata commit, no snapshot: the next runs skip it unread
                record_maintained(settings, decision.identifier, policy.for_table(decision.identifier), now, False)
        if decisions and len(skip) == len(decisions):
            for decision in decisions:
                STEP_DETAIL(f"{decision.identifier} — sautée : {decision.reason}")
            drop_stale_audit_branches(settings, out=STEP_DETAIL)
            return (
                f"{len(decisions)} tables sans maintenance due : rien à faire (décidé sur les métadonnées, sans Spark)"
            )
    spark = get_spark("lakehouse-maintenance", settings)
    reports = run_maintenance(
        spark, settings, list(JOBS), now=now, policy=policy, out=STEP_DETAIL, skip=skip, only=only
    )
    drop_stale_audit_branches(settings, out=STEP_DETAIL)
    files_before = sum(r.before.data_files for r in reports)
    files_after = sum(r.after.data_files for r in reports if r.after)
    snapshots_before = sum(r.before.snapshots for r in reports)
    snapshots_after = sum(r.after.snapshots for r in reports if r.after)
    orphans = sum(len(r.orphans) for r in reports)
    skipped = f", {len(skip)} sautées (rien de dû)" if skip else ""
    actions = {
        r.identifier: {
            "data_files": [r.before.data_files, r.after.data_files if r.after else None],
            "snapshots": [r.before.snapshots, r.after.snapshots if r.after else None],
            "compacted": r.compacted,
            "orphans_listed": len(r.orphans),
            "failure": r.failure,
        }
        for r in reports
    }
    return StepResult(
        f"{len(reports)} tables maintenues{skipped} : {files_before} → {files_after} fichiers de données, "
        f"{snapshots_before} → {snapshots_after} snapshots, {orphans} fichiers orphelins listés "
        "(make remove-orphans APPLY=1 pour les supprimer)",
        {"maintenance": actions, "skipped": skip},
    )


def _serve(settings: Settings) -> StepResult | str:
    from lakehouse.serving import serve, serve_mode, serving_configured, summary

    mode = serve_mode(settings)
    if mode == "false":
        return "copie de service désactivée (LAKEHOUSE_SERVE=false)"
    if mode == "auto" and not serving_configured(settings):
        return "aucun serveur PostgreSQL configuré : étape sautée (voir make serve)"
    results = serve(settings, out=STEP_DETAIL)
    served = {r.table: {"status": r.status, "rows": r.rows, "snapshot_id": r.snapshot_id} for r in results}
    return StepResult(summary(results), {"served": served})


def _rag_index(settings: Settings) -> StepResult:
    from lakehouse.rag.indexer import build_index

    report = build_index(settings, out=STEP_DETAIL)
    facts = {"added": report.added, "deleted": report.deleted, "updated": report.updated, "rejected": report.rejected}
    return StepResult(report.line(), facts)


STEPS: list[Step] = [
    Step(
        "stack",
        "services locaux (SeaweedFS, catalogue REST, Thrift, PostgreSQL s'il est installé) démarrés et sains",
        _start_stack,
        first_run_s=9,
    ),
    Step("ingest", "connecteur Airbyte → Parquet + Snappy dans s3://<bucket>/bronze/", _ingest, ("s3",)),
    Step(
        "register",
        "fichiers déposés → tables Iceberg lakehouse.bronze.*, une seule fois, puis réconciliation",
        _register,
        ("s3", "catalog"),
        first_run_s=11,
    ),
    Step(
        "dbt-build",
        "dbt build sur Thrift de silver et gold sur une branche d'audit, tests dbt et Great Expectations, "
        "puis publication de toutes les tables ensemble",
        _dbt_build,
        ("s3", "catalog", "thrift"),
        _unpublished_audit,
        first_run_s=60,
    ),
    Step(
        "maintain",
        "maintenance Iceberg : compaction, manifestes, expiration des snapshots, orphelins (essai à blanc)",
        _maintain,
        ("s3", "catalog"),
    ),
    Step(
        "serve",
        "copie de service de gold dans PostgreSQL : les tables dont le snapshot a changé, chacune en une transaction",
        _serve,
        ("s3", "catalog", "postgres"),
    ),
    Step(
        "rag-index",
        "index de recherche sémantique (chromadb) : passages de gold, doc dbt, documents/",
        _rag_index,
        ("s3", "catalog", "chroma"),
    ),
]


def step_named(name: str) -> Step:
    return next(step for step in STEPS if step.name == name)


def ingest_streams(streams: list[str]) -> Callable[[Settings], StepResult]:
    """The ingest step on some streams only (a re-run of one stream from the orchestrator)."""
    return lambda settings: _ingest(settings, streams)


def register_streams(streams: list[str]) -> Callable[[Settings], StepResult]:
    return lambda settings: _register(settings, streams)


class StepFailed(LakehouseError):
    def __init__(self, step: str, cause: BaseException, consequence: str | None = None):
        # A service or a JVM that stopped is said once, with the step it stopped.
        said = isinstance(cause, (ServiceDown, JobDied))
        message = str(cause) if said else f"étape « {step} » en échec : {cause}"
        if consequence and consequence not in message:
            message += f" ; {consequence}"
        super().__init__(message)
        self.step = step
        self.cause = cause


def _consequence(step: Step, settings: Settings) -> str | None:
    if step.after_failure is None:
        return None
    try:
        return step.after_failure(settings)
    except Exception:  # the failure itself is what the user must read
        return None


def _finish_report(settings: Settings, report: run_report.RunReport, started: float, since_ms: int, out: Reporter):
    """Tables (unless already read), freshness and the files of the run report; what the lake cannot tell
    (stack down) is left out."""
    report.seconds = round(time.monotonic() - started, 3)
    try:
        report.tables = report.tables or run_report.table_records(settings, since_ms)
        report.freshness = run_report.source_freshness(settings)
    except Exception as error:  # a failed run may have left no catalog to ask: the report still says why
        out(f"rapport d'exécution : état des tables non lu ({first_line(error)})")
    path = run_report.write_report(settings, report)
    out(f"rapport d'exécution : {path} ; métriques : {run_report.metrics_file(settings)}")


def run_pipeline(settings: Settings, steps: list[Step] | None = None, out: Reporter = print) -> None:
    steps = STEPS if steps is None else steps
    with recorded_run(settings, len(steps), out) as run:
        for step in steps:
            run.step(step)
        run.finish()


@contextmanager
def recorded_run(settings: Settings, total_steps: int, out: Reporter = print) -> Iterator[RecordedRun]:
    """A run whose steps are given one by one (`make run`, or a run of the orchestrator): the progress file
    while it runs, the run report when it ends."""
    run = RecordedRun(settings, total_steps, out)
    try:
        yield run
    finally:
        run_report.clear_progress(settings)


class RecordedRun:
    """Steps run in order, each with its progress lines, its duration and its facts in the run report; the
    report is written when a step fails (`StepFailed`) or by `finish`, with the summary of the tables."""

    def __init__(self, settings: Settings, total_steps: int, out: Reporter):
        self.settings, self.total, self.out = settings, total_steps, out
        self.started = time.monotonic()
        self.report = run_report.new_report()
        self.since_ms = int(time.time() * 1000)
        self.previous = _previous_durations(settings)

    @property
    def failed(self) -> bool:
        return self.report.status == "failed"

    def step(self, step: Step, run: Callable[[Settings], str | StepResult | None] | None = None) -> StepResult:
        """Run `step` (or `run`, the same step on part of its work: some streams); raise StepFailed."""
        settings, out = self.settings, self.out
        index = len(self.report.steps) + 1
        total = max(self.total, index)
        run_report.record_progress(settings, self.report.started_at, index, total, step.name)
        out(f"[{index}/{total}] {step.name}: {step.description}{_expected_line(step, self.previous)} ...")
        step_started = time.monotonic()
        tasks_before = executor_tasks(settings)
        try:
            with watching(settings, step.services, f"étape « {step.name} » arrêtée"):
                result = (run or step.run)(settings)
        except Exception as error:
            seconds = time.monotonic() - step_started
            out(f"[{index}/{total}] {step.name}: ÉCHEC après {fr_seconds(seconds)}")
            self.report.steps.append(
                run_report.StepRecord(
                    step.name,
                    "failed",
                    round(seconds, 3),
                    first_line(error),
                    executor_tasks=tasks_between(tasks_before, executor_tasks(settings)),
                )
            )
            self.report.status, self.report.failed_step, self.report.error = "failed", step.name, first_line(error)
            _finish_report(settings, self.report, self.started, self.since_ms, out)
            raise StepFailed(step.name, error, _consequence(step, settings)) from error
        seconds = time.monotonic() - step_started
        if self.report.failed_step == step.name:  # a new attempt of the step that failed (the orchestrator's retry)
            self.report.status, self.report.failed_step, self.report.error = "running", None, None
        result = result if isinstance(result, StepResult) else StepResult(result or "", {})
        ran = tasks_between(tasks_before, executor_tasks(settings))
        self.report.steps.append(
            run_report.StepRecord(step.name, "ok", round(seconds, 3), result.summary, result.facts, ran)
        )
        suffix = f" — {result.summary}" if result.summary else ""
        out(f"[{index}/{total}] {step.name}: OK en {fr_seconds(seconds)}{suffix}")
        return result

    def finish(self) -> None:
        """Every step done: the summary of the tables, and the report of a successful run."""
        settings, out, report = self.settings, self.out, self.report
        report.status = "success"
        out("")
        out(f"Résumé ({fr_seconds(time.monotonic() - self.started)}) — tables du catalogue {settings.catalog_name} :")
        report.tables = run_report.table_records(settings, self.since_ms)  # read once: the summary and the report
        if not report.tables:
            out(f"  aucune table encore dans {', '.join(settings.namespaces)}")
        for table in report.tables:
            namespace, name = table.table.split(".", 1)
            counts = f"{number(table.rows):>12} lignes  {number(table.data_files):>6} fichiers"
            out(f"  {settings.catalog_name}.{namespace}.{name:<45} {counts}")
        _finish_report(settings, report, self.started, self.since_ms, out)
