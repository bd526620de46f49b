"""Connector commands forked from one process that imported Airbyte's CDK once (`connector_forks`): the same
messages as a process started for the command, every command of an ingestion a child of one server, and
nothing left running when the process holding the server is killed. The real connector (`.venv-airbyte`),
against an API that refuses connections or never answers."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lakehouse.core.settings import load_settings
from lakehouse_ingestion import connector_forks
from lakehouse_ingestion.connector import connector_executable, run_connector


def _config(port: int) -> dict:
    return {
        "api_url": f"http://127.0.0.1:{port}",
        "api_key": "cle-de-test",
        "start_year": 2024,
        "lookback_years": 1,
        "start_datetime": "2024-01-01T00:00:00Z",
        "page_size": 100,
        "max_retries": 0,
        "retry_backoff_seconds": 0.1,
    }


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    return load_settings(environ={}, env_file=tmp_path_factory.mktemp("forks") / "absent.env")


@pytest.fixture
def silent_api():
    """A port that accepts connections and never answers: a connector command on it runs until killed."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


def _refused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed when this returns: connections to it are refused


def _outcome(messages: list[dict]) -> tuple[list[str], dict]:
    [status] = [m["connectionStatus"] for m in messages if m["type"] == "CONNECTION_STATUS"]
    return [m["type"] for m in messages if m["type"] != "LOG"], status


def _parent(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:  # ended meanwhile
        return None


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_forked_check_says_what_a_started_one_says(settings):
    config = _config(_refused_port())
    started = _outcome(list(run_connector(settings, "check", config)))
    with connector_forks.forking_connectors(connector_executable(settings)):
        forked = [_outcome(list(run_connector(settings, "check", config))) for _ in range(2)]
    assert started[1]["status"] == "FAILED" and "Connection refused" in started[1]["message"], started
    assert forked == [started, started]


def test_the_commands_of_an_ingestion_are_children_of_one_server(settings, silent_api, tmp_path):
    executable = connector_executable(settings)
    command = [str(executable), "check", "--config", str(tmp_path / "config.json"), "--manifest-path"]
    (tmp_path / "config.json").write_text(json.dumps(_config(silent_api)))
    command.append(str(Path(connector_forks.__file__).parents[1] / "manifest.yaml"))
    with connector_forks.forking_connectors(executable), (tmp_path / "stderr").open("wb") as stderr:
        server = connector_forks._server
        assert server is not None
        children = [connector_forks.start_connector(command, stderr) for _ in range(2)]
        try:
            assert all(isinstance(child, connector_forks.ForkedConnector) for child in children)
            assert [_parent(child.pid) for child in children] == [server.process.pid] * 2
            assert all(child.poll() is None for child in children)  # both wait on the silent API
        finally:
            for child in children:
                child.kill()
                child.__exit__(None, None, None)  # its stdout closed, its end waited for
        assert [child.returncode for child in children] == [-signal.SIGKILL] * 2
    assert server.process.poll() is not None  # stopped with the block


def test_a_killed_ingestion_leaves_neither_server_nor_connector(settings, silent_api, tmp_path):
    holder = f"""
import json, sys, threading
from pathlib import Path
from lakehouse.core.settings import load_settings
from lakehouse_ingestion import connector_forks
from lakehouse_ingestion.connector import connector_executable, run_connector
settings = load_settings(environ={{}}, env_file=Path({str(tmp_path / "absent.env")!r}))
with connector_forks.forking_connectors(connector_executable(settings)):
    reading = run_connector(settings, "check", {json.dumps(_config(silent_api))})
    threading.Thread(target=lambda: list(reading), daemon=True).start()
    print(connector_forks._server.process.pid, flush=True)
    threading.Event().wait()
"""
    process = subprocess.Popen([sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True)
    try:
        server = int(process.stdout.readline())
        deadline = time.monotonic() + 120  # the server imports the CDK first
        children: list[int] = []
        while not children and time.monotonic() < deadline:
            children = [int(p) for p in os.listdir("/proc") if p.isdigit() and _parent(int(p)) == server]
            time.sleep(0.1)
        assert children, "aucun connecteur fourché par le serveur"
    finally:
        process.kill()
        process.wait()
        process.stdout.close()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in [server, *children]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in [server, *children] if _alive(pid)]
