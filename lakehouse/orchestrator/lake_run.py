"""The resource every asset of a Dagster run shares: the run of `make run` it is.

For the whole Dagster run it holds the lake's write lock (waiting for a manual `make run` at most
`LAKEHOUSE_ORCHESTRATOR_LOCK_WAIT_S`), starts the stack (`make run`'s first step) and records each step in the
run report as `make run` does. When the run ends it writes the summary, and sends the alerts: a failed step,
a source past its freshness threshold (`LAKEHOUSE_ALERT_WEBHOOK`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from dagster import ConfigurableResource, Failure, InitResourceContext, RetryRequested
from pydantic import PrivateAttr

from lakehouse import pipeline
from lakehouse.core.clients import ServiceUnavailable
from lakehouse.core.errors import first_line
from lakehouse.core.service_watch import JobDied, ServiceDown
from lakehouse.core.settings import Settings, load_settings
from lakehouse.core.write_lock import WriteLockBusy, write_lock
from lakehouse.orchestrator.alerts import post_alert
from lakehouse.run_report import Freshness
from lakehouse.services.dagster import dagster_url

# A service that does not answer, a job's JVM that died: worth another attempt, after a delay.
TRANSIENT = (ServiceDown, ServiceUnavailable, JobDied, WriteLockBusy, ConnectionError, TimeoutError)


def transient(error: BaseException) -> bool:
    """Is a transient failure among the error and its causes?"""
    todo, seen = [error], set()
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, TRANSIENT):
            return True
        todo += [c for c in (getattr(current, "cause", None), current.__cause__, current.__context__) if c is not None]
    return False


class LakeRun(ConfigurableResource):
    """`make run` as a Dagster resource: the assets call `step` with their part of the work."""

    _settings: Settings | None = PrivateAttr(default=None)
    _run: pipeline.RecordedRun | None = PrivateAttr(default=None)
    _stale: list[Freshness] = PrivateAttr(default_factory=list)
    _build_started_at: datetime | None = PrivateAttr(default=None)
    _failure: str = PrivateAttr(default="")  # the whole message of the step that failed last

    @property
    def settings(self) -> Settings:
        assert self._settings is not None
        return self._settings

    @property
    def build_started_at(self) -> datetime | None:
        """When this run's dbt step started (the quality outcomes recorded since are this build's)."""
        return self._build_started_at

    def build_starts(self) -> None:
        self._build_started_at = datetime.now(UTC)

    @contextmanager
    def yield_for_execution(self, context: InitResourceContext) -> Iterator[LakeRun]:
        settings = load_settings()
        self._settings = settings
        log = context.log.info if context.log else print
        run_id = context.run_id or "?"
        steps = len(pipeline.STEPS)
        reached_assets = False
        try:
            with (
                write_lock(
                    settings,
                    f"make orchestrator (run Dagster {run_id[:8]})",
                    out=log,
                    wait_seconds=settings.get_int("ORCHESTRATOR_LOCK_WAIT_S"),
                ),
                pipeline.recorded_run(settings, steps, out=log) as run,
            ):
                self._run = run
                run.report.launched_by = f"dagster {run_id}"
                run.step(pipeline.step_named("stack"))
                reached_assets = True
                yield self
                if not run.failed:
                    run.finish()
        except Exception as error:
            if not reached_assets:  # the lock or the stack: the run never got to its assets
                self._alert_failure(settings, run_id, "stack", first_line(error), log)
            raise
        finally:
            if reached_assets:
                self._after_run(settings, run_id, log)

    def _after_run(self, settings: Settings, run_id: str, log) -> None:
        if self._run is not None and self._run.failed:
            report = self._run.report
            self._alert_failure(settings, run_id, report.failed_step or "?", self._failure or report.error or "", log)
        if self._stale:
            post_alert(
                settings,
                "source_perimee",
                log,
                run_id=run_id,
                page=f"{dagster_url(settings)}/runs/{run_id}",
                sources=[
                    {
                        "source": f.source,
                        "statut": f.status,
                        "dernier_enregistrement": f.newest,
                        "age_jours": round(f.age_seconds / 86400, 1) if f.age_seconds is not None else None,
                        "seuil_alerte_jours": f.warn_after_days,
                        "seuil_erreur_jours": f.error_after_days,
                    }
                    for f in self._stale
                ],
            )

    def _alert_failure(self, settings: Settings, run_id: str, step: str, error: str, log) -> None:
        post_alert(
            settings,
            "run_en_echec",
            log,
            run_id=run_id,
            etape=step,
            erreur=error,
            page=f"{dagster_url(settings)}/runs/{run_id}",
        )

    def step(self, context, name: str, run: Callable[[Settings], object] | None = None) -> pipeline.StepResult:
        """One step of `make run` (or `run`, the same step on part of its work: some streams), for the asset
        whose `context` is given. A transient failure (a service not answering) is tried again after
        LAKEHOUSE_ORCHESTRATOR_RETRY_DELAY_S, doubled at each attempt, at most LAKEHOUSE_ORCHESTRATOR_RETRIES
        times; any other failure is final: a data check that failed fails the same way the next time."""
        assert self._run is not None
        try:
            return self._run.step(pipeline.step_named(name), run)
        except pipeline.StepFailed as error:
            self._failure = str(error)  # every line: the failed checks of an audit follow its first line
            retries = self.settings.get_int("ORCHESTRATOR_RETRIES")
            if transient(error) and context.retry_number < retries:
                delay = self.settings.get_int("ORCHESTRATOR_RETRY_DELAY_S") * 2**context.retry_number
                attempt = f"{context.retry_number + 1}/{retries}"
                context.log.warning(f"panne passagère : nouvel essai dans {delay} s ({attempt}) : {error}")
                raise RetryRequested(max_retries=retries, seconds_to_wait=delay) from error
            raise Failure(description=str(error), allow_retries=False) from None

    def stale_sources(self, sources: list[Freshness]) -> None:
        """Sources past their error threshold: one alert when the run ends."""
        self._stale = [f for f in sources if f.status == "erreur"]
