"""Connector processes forked from one that has already imported Airbyte's CDK (`connector_fork_server.py`).

Each connector command (check, discover, a read per stream) is a process that spends about 3 s of CPU
importing the CDK before it does anything. Within `forking_connectors(settings)` (one ingestion), a server
of the connector's virtualenv imports it once, and each command is a child forked from it: the same entry
point, arguments, environment and standard streams as a process started for it. Outside it, or when the
server cannot start (a connector virtualenv without its Python, an import that fails), `start_connector`
starts the executable as before.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from lakehouse.core.children import die_with_parent

SERVER_SCRIPT = Path(__file__).with_name("connector_fork_server.py")
READY_TIMEOUT_S = 120  # the CDK's import: about 3 s alone, much more on a loaded machine
CONNECTOR_ENV = {"DO_NOT_TRACK": "1", "AIRBYTE_OFFLINE_MODE": "1"}


class ForkedConnector:
    """A connector child of the fork server, used as `subprocess.Popen` is here: `stdout`, `poll`, `wait`,
    `kill`, and a `with` block that closes its streams and waits for it."""

    def __init__(self, connection: socket.socket, pid: int, stdout: IO[bytes]):
        self.connection, self.pid, self.stdout = connection, pid, stdout
        self.returncode: int | None = None

    def _answer(self, timeout: float | None) -> int | None:
        if self.returncode is None:
            readable, _, _ = select.select([self.connection], [], [], timeout)
            if not readable:
                return None
            reply = self.connection.recv(4096)
            # no answer: the server itself died (it takes its children with it)
            self.returncode = json.loads(reply).get("exit", -signal.SIGKILL) if reply else -signal.SIGKILL
            self.connection.close()
        return self.returncode

    def poll(self) -> int | None:
        return self._answer(0)

    def wait(self) -> int:
        code = self._answer(None)
        assert code is not None
        return code

    def kill(self) -> None:
        if self.returncode is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def __enter__(self) -> ForkedConnector:
        return self

    def __exit__(self, *_: object) -> None:
        self.stdout.close()
        self.wait()


class ForkServer:
    def __init__(self, python: Path):
        # An abstract Unix socket and an unnamed log file: a killed ingestion leaves no file behind.
        name = f"lakehouse-airbyte-forks-{os.getpid()}-{uuid.uuid4().hex}"
        self.path = "\0" + name
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [str(python), str(SERVER_SCRIPT), name],
            stdout=subprocess.PIPE,
            stderr=self.log,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **CONNECTOR_ENV},
            preexec_fn=die_with_parent,  # and its children die with it
        )
        self._ready = threading.Event()
        self._failed = False
        threading.Thread(target=self._wait_ready, daemon=True).start()

    def _wait_ready(self) -> None:
        assert self.process.stdout is not None
        self._failed = self.process.stdout.readline().strip() != b"ready"
        self._ready.set()

    def ready(self) -> bool:
        """Whether it serves (waiting for its import when needed); False when it failed or was too slow."""
        if not self._ready.wait(READY_TIMEOUT_S):
            self._failed = True  # given up once, not waited for again by each command
            self._ready.set()
        return not self._failed and self.process.poll() is None

    def start(self, args: list[str], stderr: IO[bytes]) -> ForkedConnector:
        read_end, write_end = os.pipe()
        stdin = os.open(os.devnull, os.O_RDONLY)
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            connection.connect(self.path)
            socket.send_fds(connection, [json.dumps({"args": args}).encode()], [stdin, write_end, stderr.fileno()])
            reply = json.loads(connection.recv(4096) or b"{}")
        except BaseException:
            connection.close()
            os.close(read_end)
            raise
        finally:
            os.close(write_end)
            os.close(stdin)
        if "pid" not in reply:
            connection.close()
            os.close(read_end)
            raise OSError(f"serveur de connecteurs : {reply.get('error', 'pas de réponse')}")
        return ForkedConnector(connection, reply["pid"], os.fdopen(read_end, "rb"))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.log.close()


_lock = threading.Lock()
_server: ForkServer | None = None


@contextmanager
def forking_connectors(executable: Path) -> Iterator[None]:
    """Within this block, `start_connector` forks the connector commands from one server (started here,
    beside the caller's other work: its import runs while the caller gets ready)."""
    global _server
    python = executable.parent / "python"
    with _lock:
        if _server is not None or not python.is_file():  # nested, or a connector without the CDK's Python
            outer = True
        else:
            outer = False
            _server = ForkServer(python)
    try:
        yield
    finally:
        if not outer:
            with _lock:
                server, _server = _server, None
            assert server is not None
            server.stop()


def start_connector(command: list[str], stderr: IO[bytes]) -> Any:
    """The connector `command` (its executable, then its arguments): a child of the fork server when one
    serves, else a process of its own (`subprocess.Popen`, stdout a pipe)."""
    server = _server
    if server is not None and server.ready():
        try:
            return server.start(command[1:], stderr)
        except OSError:
            pass  # the server stopped answering: a process of its own, as without it
    return subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=stderr,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **CONNECTOR_ENV},
        preexec_fn=die_with_parent,  # a killed ingestion leaves no connector behind
    )
