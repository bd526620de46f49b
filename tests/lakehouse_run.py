"""`python -m lakehouse <command>` run as a user would, for the tests that kill it or the services under it.

`LakehouseRun` starts the command in its own process group (like a command typed in a terminal), reads its
output line by line as it comes, and can kill it with SIGKILL at the moment a line appears; `children` and
`still_alive` tell whether the processes it started ended with it.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from lakehouse.core.settings import PROJECT_ROOT


class LakehouseRun:
    """`python -m lakehouse <args>` on the fault stack, its output read line by line in a thread."""

    def __init__(self, env_file: Path, *args: str, **env: str):
        environment = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
        environment.update({"LAKEHOUSE_ENV_FILE": str(env_file), "PYTHONUNBUFFERED": "1", **env})
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "lakehouse", *args],
            cwd=PROJECT_ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self.ended: float | None = None
        self.seconds: float | None = None
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self.process.stdout.close()
        self.ended = time.monotonic()  # the output closes when the command ends
        self._queue.put(None)

    def wait_for(self, text: str, timeout: float = 600) -> str:
        """The first line (from now on) that contains `text`; fails when the command ends before it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                self._queue.put(None)
                raise AssertionError(f"fin de la commande avant « {text} » :\n" + self.output()[-6000:])
            self.lines.append(line)
            if text in line:
                return line
        raise AssertionError(f"« {text} » pas vu en {timeout} s :\n" + self.output()[-6000:])

    def kill(self) -> None:
        """SIGKILL to the command's process only (what `kill -9 <PID>` does); its children must end by
        themselves."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.finish(timeout=60)

    def finish(self, timeout: float = 900) -> int:
        code = self.process.wait(timeout=timeout)
        while True:
            line = self._queue.get(timeout=30)
            if line is None:
                break
            self.lines.append(line)
        self.seconds = (self.ended or time.monotonic()) - self.started
        return code

    def output(self) -> str:
        while True:
            try:
                line = self._queue.get_nowait()
            except queue.Empty:
                break
            if line is None:
                self._queue.put(None)
                break
            self.lines.append(line)
        return "\n".join(self.lines)


def python_process(code: str, env: dict[str, str], merge_stderr: bool = True) -> subprocess.Popen:
    """`python -c code` from the project root with exactly `env`, its output captured as text."""
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
        text=True,
    )


def run_command(env_file: Path, *args: str, timeout: float = 900, **env: str) -> LakehouseRun:
    """A command run to its end."""
    run = LakehouseRun(env_file, *args, **env)
    run.finish(timeout)
    return run


def children(pid: int) -> list[int]:
    """Every process below `pid` (its whole tree)."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                kids = [int(k) for k in (task / "children").read_text().split()]
            except OSError:
                continue
            found += kids
            todo += kids
    return found


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def still_alive(pids: list[int], timeout: float = 20) -> list[int]:
    """The PIDs still alive (not zombies) after at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        alive = []
        for pid in pids:
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
            except OSError:
                continue
            if state not in ("Z", "X"):
                alive.append(pid)
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.5)
