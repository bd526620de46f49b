"""Airbyte's CDK imported once, then one forked child per connector command (check, discover, read).

Runs in the connector's virtualenv (`.venv-airbyte/bin/python`), started by `lakehouse_ingestion.connector`
for the length of one ingestion: a connector process spends about 3 s of CPU importing the CDK before it
reads anything, and an ingestion runs four (check beside one read per stream). Each child is the CDK's own
`source-declarative-manifest` entry point, with the same arguments, environment and standard streams as a
process started for it, so its output is the connector's, unchanged.

Standard library only (it must not import the lakehouse's packages: they live in the other virtualenv).
Protocol, on the abstract Unix socket named on the command line (SOCK_SEQPACKET: one message per send), one
connection per command: the client sends `{"args": [...]}` with three file descriptors (the child's
stdin, stdout and stderr); the server answers `{"pid": N}` once the child is forked, then `{"exit": code}`
when it ends (negative: killed by that signal). The server prints `ready` on its stdout once it listens. It
dies with the process that started it, and each child with the server (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import ctypes
import json
import os
import select
import signal
import socket
import sys
import traceback

PR_SET_PDEATHSIG = 1
MAX_MESSAGE = 1 << 16


def _die_with(parent: int) -> None:
    """Killed (SIGKILL) when `parent` ends; at once if it has already ended."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)


def _send(connection: socket.socket, message: dict) -> None:
    try:
        connection.send(json.dumps(message).encode())
    except OSError:  # the client is gone (it was killed): nothing to tell
        pass


def _child(server: int, args: list[str], fds: list[int], run) -> None:
    """In the forked child: its standard streams, then the connector's entry point; never returns."""
    _die_with(server)
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    for fd in fds:
        if fd > 2:
            os.close(fd)
    sys.argv = ["source-declarative-manifest", *args]
    code = 0
    try:
        run()
    except SystemExit as stopped:
        code = stopped.code if isinstance(stopped.code, int) else (0 if stopped.code is None else 1)
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
    os._exit(code)


def serve(socket_name: str) -> None:
    _die_with(os.getppid())
    from airbyte_cdk.cli.source_declarative_manifest import run  # the import this server pays once

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind("\0" + socket_name)  # abstract: no file to remove, even after a kill
    listener.listen(16)
    print("ready", flush=True)
    children: dict[int, socket.socket] = {}
    while True:
        readable, _, _ = select.select([listener], [], [], 0.05)
        if readable:
            connection, _ = listener.accept()
            message, fds, _, _ = socket.recv_fds(connection, MAX_MESSAGE, 3)
            if len(fds) != 3:
                _send(connection, {"error": f"3 descripteurs attendus, {len(fds)} reçus"})
                connection.close()
                for fd in fds:
                    os.close(fd)
                continue
            server = os.getpid()
            pid = os.fork()
            if pid == 0:
                listener.close()
                connection.close()
                for other in children.values():
                    other.close()
                _child(server, json.loads(message)["args"], fds, run)
            for fd in fds:
                os.close(fd)
            _send(connection, {"pid": pid})
            children[pid] = connection
        while children:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            connection = children.pop(pid, None)
            if connection is not None:
                _send(connection, {"exit": os.waitstatus_to_exitcode(status)})
                connection.close()


if __name__ == "__main__":
    serve(sys.argv[1])
