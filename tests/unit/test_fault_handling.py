"""Without services: the write lock, the lines that name a stopped service or a dead process, which commands
write the lake, and the fault points of the fault suite."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from lakehouse import cli
from lakehouse.core.errors import exit_description
from lakehouse.core.faults import FAULT_VARIABLE, SimulatedCrash, fault_point
from lakehouse.core.service_watch import ServiceDown, Watched, down_line, watching
from lakehouse.core.settings import PROJECT_ROOT, load_settings
from lakehouse.core.write_lock import WriteLockBusy, current_holder, lock_file, write_lock


@pytest.fixture
def settings(tmp_path):
    return load_settings(environ={"LAKEHOUSE_STATE_DIR": str(tmp_path / "state")}, env_file=tmp_path / "absent.env")


def test_a_second_writer_is_refused_with_the_holder_then_the_lock_is_free_again(settings):
    lines: list[str] = []
    with write_lock(settings, "make run", out=lines.append) as holder:
        assert current_holder(settings) == holder
        with pytest.raises(WriteLockBusy) as busy:
            with write_lock(settings, "make ingest", out=lines.append, wait_seconds=0):
                pass
        message = str(busy.value)
        assert f"`make run` (PID {os.getpid()} sur {holder.host}, depuis le {holder.started} UTC)" in message
        assert "LAKEHOUSE_LOCK_WAIT_S" in message
    assert current_holder(settings) is None and lines == []
    assert lock_file(settings).read_text() == ""  # released normally: nobody to take over from


def test_a_lock_left_by_a_killed_holder_is_taken_over_and_the_takeover_is_said(settings):
    code = (
        "import os, signal\n"
        "from lakehouse.core.settings import load_settings\n"
        "from lakehouse.core.write_lock import write_lock\n"
        "with write_lock(load_settings(), 'make maintain'):\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    env = {**os.environ, "LAKEHOUSE_STATE_DIR": str(settings.state_dir)}
    killed = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env)
    assert killed.returncode == -9
    assert json.loads(lock_file(settings).read_text())["command"] == "make maintain"
    assert current_holder(settings) is None  # the kernel released it with the process
    lines: list[str] = []
    with write_lock(settings, "make run", out=lines.append):
        pass
    assert len(lines) == 1 and lines[0].startswith("verrou d'écriture repris : `make maintain` (PID ")
    assert "s'est arrêté sans le rendre" in lines[0]


def test_a_stopped_service_is_named_once_with_its_addresses():
    def probe():
        raise OSError

    s3 = Watched("s3", "SeaweedFS", "S3", "http://127.0.0.1:8333", probe)
    catalog = Watched("catalog", "SeaweedFS", "catalogue Iceberg REST", "http://127.0.0.1:8181", probe)
    thrift = Watched("thrift", "le serveur Thrift", "", "127.0.0.1:10000", probe)
    line = down_line([s3, catalog], 8.4, "étape « register » arrêtée")
    assert line.startswith(
        "SeaweedFS (S3 sur http://127.0.0.1:8333, catalogue Iceberg REST sur http://127.0.0.1:8181) "
        "ne répond plus depuis 8 s : étape « register » arrêtée ; `make status`"
    ), line
    both = down_line([s3, thrift], None, "étape « dbt-build » arrêtée")
    assert both.startswith("SeaweedFS (S3 sur http://127.0.0.1:8333) et le serveur Thrift sur 127.0.0.1:10000 ne ")
    assert "ne répondent plus : étape" in both


def test_a_step_failing_while_its_service_stopped_says_the_service(tmp_path):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        settings = load_settings(
            environ={"LAKEHOUSE_STATE_DIR": str(tmp_path), "LAKEHOUSE_THRIFT_PORT": str(port)},
            env_file=tmp_path / "absent.env",
        )
        with pytest.raises(ServiceDown) as down:
            with watching(settings, ("thrift",), "étape « dbt-build » arrêtée") as watch:
                while "thrift" not in watch.answered:  # the watch saw it answer once
                    pass
                listener.close()  # the server stops
                raise RuntimeError("unexpected exception")  # what the client says
    assert str(down.value).startswith(f"le serveur Thrift sur 127.0.0.1:{port} ne répond plus")


def test_exit_descriptions_name_the_signal():
    assert exit_description(-9) == "signal 9, SIGKILL"
    assert exit_description(137) == "signal 9, SIGKILL"  # as a shell reports it
    assert exit_description(1) == "code de sortie 1"


@pytest.mark.parametrize(
    ("argv", "label"),
    [
        (["run"], "make run"),
        (["ingest"], "make ingest"),
        (["dbt", "build"], "dbt build"),
        (["dbt", "debug"], None),
        (["dbt", "docs", "generate"], None),
        (["repair"], None),  # a dry run only reads
        (["repair", "--apply"], "make repair"),
        (["status"], None),
        (["sql", "select 1"], None),
        (["ask", "question"], None),
        (["maintain"], "make maintain"),
    ],
)
def test_writers_take_the_lock_readers_never(argv, label):
    assert cli.writer_label(cli.build_parser().parse_args(argv)) == label


def test_fault_points_do_nothing_unless_asked(monkeypatch):
    fault_point("register-branches-written")
    monkeypatch.setenv(FAULT_VARIABLE, "raise:ailleurs")
    fault_point("register-branches-written")
    monkeypatch.setenv(FAULT_VARIABLE, "raise:register-branches-written")
    with pytest.raises(SimulatedCrash):
        fault_point("register-branches-written")


def test_py4j_root_logger_tracebacks_are_silenced_and_nothing_else():
    """A job JVM that dies: py4j's `logging.exception` on the root logger prints nothing more."""
    code = (
        "import logging, sys\n"
        "sys.path.insert(0, 'spark')\n"
        "from lakehouse_spark.session import _quiet_py4j_root_messages\n"
        "_quiet_py4j_root_messages()\n"
        "py4j = compile('import logging\\nlogging.exception(\"Exception while sending command.\")', "
        "'/venv/site-packages/py4j/java_gateway.py', 'exec')\n"
        "exec(py4j)\n"
        "logging.error('message du lakehouse')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "Exception while sending command" not in result.stderr
    assert "message du lakehouse" in result.stderr
