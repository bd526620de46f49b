"""The orchestrator's GraphQL API as the tests use it (the page uses the same): launch a run, wait for its end,
find the runs of a schedule, read a run's failed steps."""

from __future__ import annotations

import time

from lakehouse.core.settings import Settings
from lakehouse.services.dagster import LOCATION_NAME, graphql

REPOSITORY = "__repository__"
ASSET_JOB = "__ASSET_JOB"  # the job Dagster runs when assets are picked on the page
FINISHED = ("SUCCESS", "FAILURE", "CANCELED")


def launch_run(settings: Settings, job: str = ASSET_JOB, assets: list[list[str]] | None = None) -> str:
    """Launch `job` (with `assets`: those assets only, as « Materialize selected » does); the run's id."""
    selector = {"repositoryLocationName": LOCATION_NAME, "repositoryName": REPOSITORY, "jobName": job}
    if assets is not None:
        selector["assetSelection"] = [{"path": path} for path in assets]
    data = graphql(
        settings,
        """mutation($params: ExecutionParams!) { launchRun(executionParams: $params) {
             __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message }
             ... on InvalidSubsetError { message } ... on RunConfigValidationInvalid { errors { message } } } }""",
        {"params": {"selector": selector, "runConfigData": {}}},
    )["launchRun"]
    assert data["__typename"] == "LaunchRunSuccess", data
    return data["run"]["runId"]


def run_status(settings: Settings, run_id: str) -> str:
    return graphql(settings, "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }", {"id": run_id})[
        "runOrError"
    ]["status"]


def wait_for_run(settings: Settings, run_id: str, timeout: float = 600) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = run_status(settings, run_id)
        if status in FINISHED:
            return status
        time.sleep(1)
    raise TimeoutError(f"run Dagster {run_id} pas fini en {timeout} s ({status})")


def schedule_runs(settings: Settings, schedule: str) -> list[str]:
    """Ids of the runs a schedule's ticks launched, newest first."""
    data = graphql(
        settings,
        """query($tags: [ExecutionTag!]) {
             runsOrError(filter: {tags: $tags}) { ... on Runs { results { runId } } } }""",
        {"tags": [{"key": "dagster/schedule_name", "value": schedule}]},
    )
    return [run["runId"] for run in data["runsOrError"]["results"]]


def run_log(settings: Settings, run_id: str) -> list[dict]:
    """The run's events: type, step, message and error message."""
    data = graphql(
        settings,
        """query($id: ID!) { logsForRun(runId: $id, limit: 2000) { ... on EventConnection { events {
             __typename ... on MessageEvent { message stepKey }
             ... on ExecutionStepFailureEvent { error { message } } } } } }""",
        {"id": run_id},
    )
    return data["logsForRun"]["events"]


def asset_graph(settings: Settings) -> dict[tuple[str, ...], list[tuple[str, ...]]]:
    """Each asset of the page's lineage and the assets it depends on."""
    nodes = graphql(settings, "{ assetNodes { assetKey { path } dependencyKeys { path } } }")["assetNodes"]
    return {tuple(node["assetKey"]["path"]): [tuple(key["path"]) for key in node["dependencyKeys"]] for node in nodes}


def stop_schedule(settings: Settings, schedule: str) -> None:
    """Turn a schedule off, as its switch on the page does."""
    selector = {"repositoryLocationName": LOCATION_NAME, "repositoryName": REPOSITORY, "scheduleName": schedule}
    found = graphql(
        settings,
        "query($s: ScheduleSelector!) { scheduleOrError(scheduleSelector: $s) { ... on Schedule { id } } }",
        {"s": selector},
    )["scheduleOrError"]
    stopped = graphql(
        settings,
        """mutation($id: String) { stopRunningSchedule(id: $id) { __typename
             ... on ScheduleStateResult { scheduleState { status } } ... on PythonError { message } } }""",
        {"id": found["id"]},
    )["stopRunningSchedule"]
    assert stopped.get("scheduleState", {}).get("status") == "STOPPED", stopped
