"""Background processes with a PID file and a log, started and stopped by the stack.

A PID file records the PID and a marker expected in the process's command line, so
that `down` never signals a process it did not start (a PID reused by the system after
a crash reads as a stale PID file, not as our service).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

# The services this interpreter started, kept referenced: a service outlives the `Popen` object
# that started it, and Python would otherwise warn that it "is still running" when that object is
# collected. `stop` reaps them.
_STARTED: dict[int, subprocess.Popen] = {}


def port_is_free(host: str, port: int) -> bool:
    """True when nothing listens on host:port (a bind test, as the service itself would do)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def port_answers(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def pid_is_running(pid: int, marker: str) -> bool:
    """True when `pid` is alive (not a zombie) and its command line contains `marker`."""
    proc = Path(f"/proc/{pid}")
    try:
        stat = (proc / "stat").read_text()
        cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False
    state = stat.rsplit(")", 1)[-1].split()[0]
    if state in ("Z", "X"):
        _reap(pid)
        return False
    return marker in cmdline


@dataclass
class ManagedProcess:
    """One background service process: its PID file, its log, start and stop."""

    name: str
    marker: str
    run_dir: Path
    log_dir: Path
    stop_signal: int = signal.SIGTERM  # the first signal `stop` sends (SIGKILL after the timeout)

    @property
    def pid_file(self) -> Path:
        return self.run_dir / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.log_dir / f"{self.name}.log"

    def record(self) -> dict | None:
        try:
            return json.loads(self.pid_file.read_text())
        except FileNotFoundError:
            return None
        except (ValueError, OSError):
            return {"pid": -1}

    def pid(self) -> int | None:
        record = self.record()
        return None if record is None else int(record.get("pid", -1))

    def state(self) -> str:
        """`running`, `stopped` (no PID file) or `stale` (PID file of a dead process)."""
        pid = self.pid()
        if pid is None:
            return "stopped"
        return "running" if pid > 0 and pid_is_running(pid, self.marker) else "stale"

    def clear_stale(self) -> int | None:
        pid = self.pid()
        self.pid_file.unlink(missing_ok=True)
        return pid

    def start(self, command: list[str], env: dict[str, str], cwd: Path, user: str | None = None) -> subprocess.Popen:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        cwd.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            log.write(f"\n{START_BANNER}{time.strftime('%Y-%m-%d %H:%M:%S')} start: {' '.join(command)}\n".encode())
            log.flush()
            process = subprocess.Popen(
                command,
                cwd=cwd,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                user=user,
            )
        _STARTED[process.pid] = process
        record = {"pid": process.pid, "marker": self.marker, "started_at": time.time(), "log": str(self.log_file)}
        self.pid_file.write_text(json.dumps(record) + "\n")
        return process

    def stop(self, timeout: float = 30.0) -> int | None:
        """Stop the process group we started; return the PID that was stopped, if any."""
        pid = self.pid()
        if pid is None or pid <= 0 or not pid_is_running(pid, self.marker):
            self.pid_file.unlink(missing_ok=True)
            return None
        for sig, wait in ((self.stop_signal, timeout), (signal.SIGKILL, 10.0)):
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                break
            except PermissionError:
                os.kill(pid, sig)
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline and pid_is_running(pid, self.marker):
                time.sleep(0.2)
            if not pid_is_running(pid, self.marker):
                break
        self.pid_file.unlink(missing_ok=True)
        child = _STARTED.pop(pid, None)
        if child is not None:  # started by this interpreter: wait until it has fully exited
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=10)
        return pid

    def last_log_cause(self) -> str:
        """The most telling line of the last start in the log: its first error, else its last line."""
        try:
            lines = self.log_file.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return "(pas de journal)"
        starts = [i for i, line in enumerate(lines) if line.startswith(START_BANNER)]
        block = [line.strip() for line in lines[(starts[-1] + 1) if starts else 0 :] if line.strip()]
        if not block:
            return "(journal vide)"
        for line in block:
            if _is_fatal(line) and not any(noise in line for noise in HARMLESS_LOG_LINES):
                return line
        return block[-1]


START_BANNER = "===== "
# Known log noise at error level (SeaweedFS logs a missing table as an error).
HARMLESS_LOG_LINES = ("S3Tables: error handling GetTable",)


def _is_fatal(line: str) -> bool:
    if line[:1] in "FE" and line[1:5].isdigit():  # glog fatal/error line (SeaweedFS)
        return True
    return any(word in line for word in ("Exception", " ERROR ", "Error:", "Invalid ", "FATAL"))
