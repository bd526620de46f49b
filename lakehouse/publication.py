"""Write-Audit-Publish of silver and gold: `make run` builds them on an audit branch of every table,
checks the branch (dbt tests, Great Expectations suites) and publishes all tables in one catalog
transaction only when every blocking check passes; `make audit-report` shows the last audit,
`make publish FORCE=1` publishes a failed audit that an operator accepts.

Each audit leaves a record in `<state>/audits/<branch>.json`: the `main` snapshot of every table
when it started (what publication requires main still to be), its status and its failures.

An audit stopped by the infrastructure (the Thrift server, SeaweedFS or the catalog stopped answering,
the process was interrupted or killed) is `interrupted`, not `failed`: nothing was published, and
`make publish FORCE=1`, which is for data checks an operator accepts, does not apply to it. The next
audited build first settles the audits a killed process left `building`: their branches are dropped, or,
when `main` already is their head (killed between the publication and its record), they are recorded as
published.
"""

from __future__ import annotations

import getpass
import json
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa

from lakehouse.build_state import BuildPlan
from lakehouse.core import branches
from lakehouse.core.clients import iceberg_catalog
from lakehouse.core.errors import LakehouseError, first_line
from lakehouse.core.faults import fault_point
from lakehouse.core.files import write_private
from lakehouse.core.numbers import number
from lakehouse.core.reporting import Reporter, silent
from lakehouse.core.settings import Settings

QUALITY_LAYERS_ON_BRANCH = ("silver", "gold")


class AuditFailed(LakehouseError):
    """The audit found blocking problems: nothing was published; the branch is kept."""


class BuildInterrupted(LakehouseError):
    """The audited build stopped for a cause outside the data (a service, the process): nothing was
    published, the audit branch is dropped; `make run` builds again."""


@dataclass
class AuditRecord:
    branch: str
    started: str
    status: str  # building, failed, interrupted, published, forced
    baseline: dict[str, int | None]  # namespace.table -> main snapshot when the audit started
    failures: list[str]
    published_by: str | None = None
    published_at: str | None = None
    inputs: dict | None = None  # what the build read (build_state.build_inputs), saved as built once published
    branch_dropped: bool = False  # an interrupted audit whose branch is gone: nothing left to settle
    published_snapshots: dict[str, int | None] | None = None  # namespace.table -> main as this audit published it

    def save(self, settings: Settings) -> None:
        settings.audit_dir.mkdir(parents=True, exist_ok=True)
        write_private(settings.audit_dir / f"{self.branch}.json", json.dumps(self.__dict__, indent=2) + "\n")

    @classmethod
    def load_latest(cls, settings: Settings) -> AuditRecord | None:
        records = (
            sorted(settings.audit_dir.glob(f"{branches.AUDIT_PREFIX}*.json")) if settings.audit_dir.exists() else []
        )
        return cls(**json.loads(records[-1].read_text())) if records else None


def audited_tables(settings: Settings) -> Iterator[tuple[str, Any]]:
    """("namespace.table", pyiceberg table) for every table of the audited namespaces, loaded now."""
    catalog = iceberg_catalog(settings)
    for namespace in settings.audited_namespaces:
        if catalog.namespace_exists(namespace):
            for identifier in sorted(catalog.list_tables(namespace)):
                yield ".".join(identifier), catalog.load_table(identifier)


def start_audit(settings: Settings, inputs: dict | None = None, out: Reporter = silent) -> AuditRecord:
    """Branch every existing silver/gold table from main and record where main was.

    A table main never had a snapshot of was never published: its first build was killed, interrupted or
    failed after the model's `create`. Left there, this build would take it for an existing table: an
    incremental model would get only the rows after its last ones (none), and a table killed before its
    partition fields were added would stay without them. It is dropped, so that this build creates it
    whole (the branch of a failed audit on it goes too: `make publish FORCE=1` only publishes the latest
    audit, which this one becomes)."""
    branch = branches.new_audit_branch()
    catalog = iceberg_catalog(settings)
    baseline = {}
    for identifier, table in audited_tables(settings):
        if branches.ref_snapshot(table, "main") is None:
            catalog.drop_table(identifier)
            out(f"{identifier} : jamais publiée (première construction arrêtée), supprimée ; recréée entière")
            continue
        baseline[identifier] = branches.prepare_for_audit(table, branch)
    record = AuditRecord(
        branch=branch, started=_now(), status="building", baseline=baseline, failures=[], inputs=inputs
    )
    record.save(settings)
    return record


def audited_build(
    settings: Settings, out: Reporter = print, plan: BuildPlan | None = None, inputs: dict | None = None
) -> str:
    """dbt build on an audit branch, then the quality gate, then publication; one-line summary.
    With a `plan` that selects, only the selected models are rebuilt on the branch; the other tables
    keep their main snapshot there, and publication moves only the tables that changed.

    Bronze is validated while dbt builds: dbt works in the Thrift server's JVM, and the bronze suites,
    which read only bronze on main and never block, in this process's Spark session, otherwise idle
    then. Their lines are shown once dbt has finished. With `inputs` (`build_state.build_inputs`, taken
    before the plan), the build state is saved once the tables are published."""
    from lakehouse_spark.quality import new_run_id

    run_id = new_run_id()
    settle_abandoned_audits(settings, out)
    record = start_audit(settings, inputs, out)
    out(f"branche d'audit {record.branch} créée sur {len(record.baseline)} tables")
    try:
        return _build_audit_publish(settings, record, run_id, out, plan)
    except BaseException as error:  # stopped by the service watch, Ctrl-C, a service error: not the data
        if record.status == "building":
            from lakehouse.dbt_runner import infrastructure_cause

            interrupted = "interrompu (Ctrl-C ou arrêt demandé)" if isinstance(error, KeyboardInterrupt) else None
            cause = infrastructure_cause(settings) or interrupted or first_line(error)
            _interrupt(settings, record, cause, raise_error=False)
        raise


def _build_audit_publish(settings: Settings, record: AuditRecord, run_id: str, out: Reporter, plan) -> str:
    from lakehouse.dbt_runner import DbtFailed, dbt_build, infrastructure_cause

    bronze = InBackground(lambda report: validate_bronze(settings, run_id, report, skip_validated=True))
    try:
        dbt_summary = dbt_build(
            settings,
            audit_branch=record.branch,
            select=plan.select if plan else (),
            state_dir=plan.state_dir if plan else None,
            exclude_resource_types=plan.excluded_resource_types if plan else (),
        )
    except DbtFailed as error:
        cause = infrastructure_cause(settings)
        if cause:  # a service stopped: the dbt errors say nothing about the data
            return _interrupt(settings, record, cause)
        try:
            bronze.result(out)
        except Exception as bronze_error:  # the dbt failure is the one to act on; this one is reported
            out(f"validation de bronze en échec : {bronze_error}")
        return _fail(settings, record, [f"dbt : {line}" for line in error.lines] or [str(error)])
    out(f"dbt build sur la branche : {dbt_summary}")
    outcomes = bronze.result(out)
    moves = _moves(settings, record)
    # A partial build leaves the other tables on their main snapshot: one that already passed its suites
    # is not validated again. A whole build (suites changed, first build, FULL=1) validates everything.
    moved = {f"{move.namespace}.{move.name}" for move in moves}
    untouched = frozenset(set(record.baseline) - moved) if plan is not None and not plan.whole else frozenset()
    outcomes += validate_audited(settings, record.branch, run_id, out, reuse_passed=untouched)
    blocking = [o.line() for o in outcomes if o.blocking]
    for warning in (o for o in outcomes if not o.success and not o.blocking):
        out(f"avertissement ({warning.severity}) : {warning.line()}")
    if blocking:
        return _fail(settings, record, blocking)
    _publish(settings, record, moves, "published")
    return (
        f"{dbt_summary} ; {sum(o.success for o in outcomes)}/{len(outcomes)} attentes GX satisfaites ; "
        f"{len(moves)} tables publiées ensemble (branche {record.branch})"
    )


class InBackground:
    """A function run in a thread while the caller works. It reports through the `Reporter` it is given;
    its lines are kept and shown by `result`, which waits for it and returns its value or raises its error."""

    def __init__(self, function: Callable[[Reporter], Any]):
        self._lines: list[str] = []
        self._value: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(function,), daemon=True)
        self._thread.start()

    def _run(self, function: Callable[[Reporter], Any]) -> None:
        try:
            self._value = function(self._lines.append)
        except BaseException as error:  # handed to the caller by result()
            self._error = error

    def result(self, out: Reporter) -> Any:
        self._thread.join()
        for line in self._lines:
            out(line)
        if self._error is not None:
            raise self._error
        return self._value


def validate_bronze(settings: Settings, run_id: str, out: Reporter = silent, skip_validated: bool = False) -> list:
    """GX suites of bronze, read on main; reported and recorded, never blocking. With `skip_validated`, a
    snapshot already validated by its suite is not validated again."""
    from lakehouse_spark.quality import record_outcomes, run_suites
    from lakehouse_spark.session import get_spark

    spark = get_spark("lakehouse-quality", settings)
    outcomes = run_suites(spark, settings, ["bronze"], None, out=out, skip_validated=skip_validated)
    record_outcomes(spark, settings, outcomes, run_id, None)
    return outcomes


def validate_audited(
    settings: Settings,
    branch: str | None,
    run_id: str,
    out: Reporter = silent,
    reuse_passed: frozenset[str] = frozenset(),
) -> list:
    """GX suites of silver and gold, on `branch` (blocking), recorded. Tables of `reuse_passed` whose
    snapshot already passed its suite are not validated again."""
    from lakehouse_spark.quality import record_outcomes, run_suites
    from lakehouse_spark.session import get_spark

    spark = get_spark("lakehouse-quality", settings)
    outcomes = run_suites(spark, settings, QUALITY_LAYERS_ON_BRANCH, branch, out=out, reuse_passed=reuse_passed)
    record_outcomes(spark, settings, outcomes, run_id, branch)
    return outcomes


def run_quality_gate(settings: Settings, branch: str | None, out: Reporter = silent) -> list:
    """GX suites: bronze on main (reported), then silver and gold on `branch` or main (blocking); recorded."""
    from lakehouse_spark.quality import new_run_id

    run_id = new_run_id()
    return validate_bronze(settings, run_id, out, skip_validated=branch is not None) + validate_audited(
        settings, branch, run_id, out
    )


def _moves(settings: Settings, record: AuditRecord) -> list[branches.RefMove]:
    """Where main goes for each table; raise if main moved during the build (WAP would be broken)."""
    moves = []
    for identifier, table in audited_tables(settings):
        head = branches.ref_snapshot(table, record.branch)
        main = branches.ref_snapshot(table, "main")
        if identifier in record.baseline and main != record.baseline[identifier]:
            raise AuditFailed(
                f"{identifier} : main a changé pendant l'audit ({record.baseline[identifier]} → {main}) ; "
                "rien n'est publié"
            )
        if identifier not in record.baseline:
            record.baseline[identifier] = main  # created empty on main by this build
        if head is not None and head != main:
            moves.append(branches.RefMove(*identifier.split("."), main, head))
    record.save(settings)
    return moves


def _interrupt(settings: Settings, record: AuditRecord, cause: str, raise_error: bool = True) -> str:
    """Record an audit stopped by the infrastructure, drop its branch (best effort), and say so."""
    record.status = "interrupted"
    record.failures = [cause]
    record.save(settings)
    record.branch_dropped = _drop_audit_branch(settings, record.branch)
    record.save(settings)
    if raise_error:
        raise BuildInterrupted(
            f"{cause} pendant dbt build : rien n'a été publié (main de silver et gold inchangé ; audit "
            f"{record.branch} interrupted, sa branche supprimée) ; `make up` redémarre les services, puis "
            "`make run` reprend la construction"
        )
    return ""


def _drop_audit_branch(settings: Settings, branch: str) -> bool:
    """Drop `branch` from every audited table; False when the catalog could not be reached."""
    try:
        for _, table in audited_tables(settings):
            branches.drop_branch(table, branch)
    except Exception:
        return False
    return True


def settle_abandoned_audits(settings: Settings, out: Reporter = silent) -> int:
    """Audits a killed process left `building` (or `interrupted` with their branch still there): published
    when main already is their branch's head everywhere (killed after the publication), dropped otherwise."""
    if not settings.audit_dir.exists():
        return 0
    settled = 0
    every: dict[str, Any] | None = None
    for path in sorted(settings.audit_dir.glob(f"{branches.AUDIT_PREFIX}*.json")):
        record = AuditRecord(**json.loads(path.read_text()))
        if record.status not in ("building", "interrupted") or record.branch_dropped:
            continue
        every = dict(audited_tables(settings)) if every is None else every
        tables = [table for table in every.values() if record.branch in table.metadata.refs]
        if record.status == "interrupted" and not tables:
            record.branch_dropped = True
            record.save(settings)
            continue
        # Published (killed between the catalog transaction and its record, which is written before the
        # branches are dropped): main is the branch's head everywhere, and moved somewhere from where it was.
        heads = {
            identifier: branches.ref_snapshot(table, record.branch)
            for identifier, table in every.items()
            if record.branch in table.metadata.refs
        }
        published = bool(heads) and all(branches.ref_snapshot(every[i], "main") == h for i, h in heads.items())
        published = published and any(head != record.baseline.get(identifier) for identifier, head in heads.items())
        if published and record.status == "building":
            record.published_snapshots = {**record.baseline, **heads}
            _published(settings, record, "published")
            out(f"audit {record.branch} : publié avant l'arrêt de son processus ; enregistré comme publié")
        elif record.status == "building":
            record.status, record.failures = "interrupted", ["processus arrêté pendant l'audit (tué ?)"]
            out(f"audit {record.branch} : interrompu (processus arrêté pendant l'audit), rien n'en avait été publié")
        for table in tables:
            branches.drop_branch(table, record.branch)
        record.branch_dropped = True
        record.save(settings)
        settled += 1
        every = None  # branches dropped: the tables are read again for the next record
    return settled


def _fail(settings: Settings, record: AuditRecord, failures: list[str]) -> str:
    record.status = "failed"
    record.failures = failures
    record.save(settings)
    raise AuditFailed(
        f"audit en échec, rien n'est publié (main inchangé) ; branche {record.branch} gardée "
        "(make audit-report ; make publish FORCE=1 pour publier quand même) :\n"
        + "\n".join(f"  - {f}" for f in failures)
    )


def _publish(settings: Settings, record: AuditRecord, moves: list[branches.RefMove], status: str) -> None:
    branches.publish(settings, moves)
    fault_point("publish-after-transaction")
    record.published_snapshots = {
        **record.baseline,
        **{f"{move.namespace}.{move.name}": move.target for move in moves},
    }
    _published(settings, record, status)
    for _, table in audited_tables(settings):
        branches.drop_branch(table, record.branch)


def _published(settings: Settings, record: AuditRecord, status: str) -> None:
    """Record a publication, and the build state of what it built."""
    from lakehouse.build_state import save_build_state

    if record.inputs is not None:
        save_build_state(settings, record.inputs)
    record.status = status
    record.published_at = _now()
    record.save(settings)


def force_publish(settings: Settings, force: bool, out: Reporter = print) -> str:
    """Publish the last failed audit; the operator and time go into each table's snapshot summary."""
    record = AuditRecord.load_latest(settings)
    if record is None or record.status != "failed":
        raise LakehouseError(
            "aucun audit en échec à publier" + (f" (dernier audit {record.branch} : {record.status})" if record else "")
        )
    if not force:
        raise LakehouseError(
            f"l'audit {record.branch} a échoué ({len(record.failures)} problèmes, make audit-report) : "
            "relancez avec FORCE=1 pour le publier quand même"
        )
    operator = os.environ.get("LAKEHOUSE_OPERATOR") or getpass.getuser()
    when = _now()
    for _, table in audited_tables(settings):
        if record.branch in table.metadata.refs:
            # An empty append on the branch: a snapshot whose summary says who forced it and when.
            table.append(
                pa.Table.from_pylist([], schema=table.schema().as_arrow()),
                snapshot_properties={
                    "lakehouse.published-by": operator,
                    "lakehouse.published-at": when,
                    "lakehouse.publication": "forcée malgré l'audit en échec",
                    "lakehouse.audit-branch": record.branch,
                },
                branch=record.branch,
            )
    moves = _moves(settings, record)
    record.published_by = operator
    _publish(settings, record, moves, "forced")
    out(f"publication forcée de {record.branch} par {operator} le {when} : {len(moves)} tables")
    return record.branch


def audit_report(settings: Settings, out: Reporter = print) -> None:
    """The last audit; for a published one, each table's snapshot as the audit checked it, and a warning
    for every table whose main has changed since outside any audit (never shown as checked)."""
    record = AuditRecord.load_latest(settings)
    if record is None:
        out("aucun audit enregistré (make run en lance un)")
        return
    out(f"audit {record.branch} (commencé le {record.started}) : {STATUS_LABELS.get(record.status, record.status)}")
    if record.published_at:
        out(f"  publié le {record.published_at}" + (f" par {record.published_by}" if record.published_by else ""))
    published = record.status in ("published", "forced")
    catalog = iceberg_catalog(settings)
    unaudited = []
    for identifier in sorted(record.baseline):
        namespace, name = identifier.split(".")
        if not catalog.table_exists((namespace, name)):
            continue
        table = catalog.load_table((namespace, name))
        main, head = branches.ref_snapshot(table, "main"), branches.ref_snapshot(table, record.branch)
        line = f"  {identifier:<45} main {_rows(table, main):>10} lignes (snapshot {main}"
        if published and record.published_snapshots is not None:
            checked = record.published_snapshots.get(identifier)
            if main == checked:
                line += ", celui que cet audit a publié)"
            elif _same_data_since(table, checked, main):
                line += f", mêmes données que le snapshot {checked} publié par cet audit : maintenance depuis)"
            else:
                unaudited.append(identifier)
                line += f", écrit après cet audit, NON AUDITÉ) ; publié par cet audit : snapshot {checked}"
        elif published:
            line += " ; le snapshot publié par cet audit n'a pas été enregistré)"
        else:
            line += ")"
        out(line + (f" ; branche {_rows(table, head):>10} lignes (snapshot {head})" if head else ""))
    if unaudited:
        out(
            f"  ATTENTION : {len(unaudited)} table(s) ont changé sur main après cet audit, hors audit "
            "(dbt avec FORCE=1, make run AUDIT=0, retour arrière) ; le prochain make run les reconstruit et "
            "les audite"
        )
    if record.failures:
        out(f"  {len(record.failures)} problèmes bloquants :")
        for failure in record.failures:
            out(f"  - {failure}")


def _same_data_since(table: Any, published: int | None, main: int | None) -> bool:
    """Does main descend from `published` through data-preserving commits only (compaction, manifest
    rewrite: Iceberg's `replace` operation)?"""
    snapshot = table.snapshot_by_id(main) if main else None
    while snapshot is not None and snapshot.snapshot_id != published:
        operation = snapshot.summary.operation.value if snapshot.summary else None
        if operation != "replace":
            return False
        snapshot = table.snapshot_by_id(snapshot.parent_snapshot_id) if snapshot.parent_snapshot_id else None
    return snapshot is not None


STATUS_LABELS = {
    "building": "en construction",
    "failed": "en échec",
    "interrupted": "interrompu",
    "published": "publié",
    "forced": "publié de force",
}


def drop_stale_audit_branches(settings: Settings, out: Reporter = silent) -> int:
    """Drop audit branches older than the maintenance policy's `audit_branch_max_age_hours`."""
    from lakehouse.core.maintenance_policy import load_policy

    policy = load_policy(settings.maintenance_policy_file)
    now = datetime.now(UTC)
    dropped = 0
    for identifier, table in audited_tables(settings):
        limit = timedelta(hours=policy.for_table(identifier).audit_branch_max_age_hours)
        for ref in list(table.metadata.refs):
            created = branches.audit_branch_time(ref)
            if created and now - created > limit:
                table = table.refresh()
                branches.drop_branch(table, ref)
                hours = limit.total_seconds() / 3600
                out(f"{identifier} : branche d'audit {ref} supprimée (plus de {number(hours)} h)")
                dropped += 1
    return dropped


def _rows(table: Any, snapshot_id: int | None) -> str:
    snapshot = table.snapshot_by_id(snapshot_id) if snapshot_id else None
    return snapshot.summary.get("total-records", "?") if snapshot and snapshot.summary else "0"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
