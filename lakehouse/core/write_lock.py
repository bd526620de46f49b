"""The lake's write lock: one writer at a time (`make run`, ingest, register, dbt that writes, quality,
publish, maintenance, rollback, serve, rag-index, repair); readers never take it.

An exclusive `flock` on `<state>/run/write.lock`. The holder writes who it is into the file (command,
PID, host, start time, in JSON); a second writer reads it to say, in one French line, who holds the lock
and what to do. It waits up to `LAKEHOUSE_LOCK_WAIT_S` seconds (0, the default: it refuses at once).

The kernel releases a `flock` when its holder dies, whatever kills it (`kill -9` included): a lock is
never left held by a dead process. The holder empties the file when it releases the lock normally, so
a writer that finds the file still describing someone has taken over from a process that died while
writing; it says so. Programs run by a writer (dbt, the connector, Spark) run as its children, under its
lock; they do not inherit the lock's file descriptor, so none of them can keep it after the writer died.

This lock serializes the writers that share one state folder (one checkout). Writers on other machines
or checkouts are kept apart by the catalog itself (registration claims its files in one catalog
transaction; publication asserts where `main` was): see `spark/README.md`.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from lakehouse.core.errors import LakehouseError
from lakehouse.core.numbers import number
from lakehouse.core.reporting import Reporter
from lakehouse.core.settings import Settings

LOCK_NAME = "write.lock"
POLL_SECONDS = 0.5


class WriteLockBusy(LakehouseError):
    """Another writer holds the lock and did not release it in time; the message names it."""


@dataclass(frozen=True)
class Holder:
    command: str
    pid: int
    host: str
    started: str  # UTC, "aaaa-mm-jj hh:mm:ss"

    def describe(self) -> str:
        return f"`{self.command}` (PID {self.pid} sur {self.host}, depuis le {self.started} UTC)"


def lock_file(settings: Settings) -> Path:
    return settings.run_dir / LOCK_NAME


def _read_holder(handle) -> Holder | None:
    handle.seek(0)
    text = handle.read().strip()
    if not text:
        return None
    try:
        return Holder(**json.loads(text))
    except (ValueError, TypeError):
        return Holder("inconnu", -1, "?", "?")


def current_holder(settings: Settings) -> Holder | None:
    """Who holds the lock now (None when it is free); never waits, never takes it."""
    path = lock_file(settings)
    if not path.exists():
        return None
    with path.open("r", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_holder(handle)
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None


def _busy_message(holder: Holder | None, waited: float) -> str:
    who = holder.describe() if holder else "un autre processus"
    waited_text = f" après {number(waited)} s d'attente" if waited >= 1 else ""
    return (
        f"le lac est déjà en cours d'écriture par {who}{waited_text} : attendez la fin de cette commande "
        "(`make status`), ou donnez LAKEHOUSE_LOCK_WAIT_S=<secondes> pour attendre le verrou"
    )


@contextmanager
def write_lock(
    settings: Settings, command: str, out: Reporter = print, wait_seconds: float | None = None
) -> Iterator[Holder]:
    """Hold the lake's write lock while the block runs; raise WriteLockBusy when another writer keeps it
    longer than `wait_seconds` (LAKEHOUSE_LOCK_WAIT_S by default)."""
    wait = float(settings.get_int("LOCK_WAIT_S")) if wait_seconds is None else wait_seconds
    path = lock_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    handle = os.fdopen(fd, "r+", encoding="utf-8")
    try:
        started = time.monotonic()
        announced = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                waited = time.monotonic() - started
                holder = _read_holder(handle)
                for _ in range(20):  # a holder that has just taken the lock writes who it is right after
                    if holder is not None:
                        break
                    time.sleep(0.01)
                    holder = _read_holder(handle)
                if waited >= wait:
                    raise WriteLockBusy(_busy_message(holder, waited)) from None
                if not announced:
                    who = holder.describe() if holder else "un autre processus"
                    limit = f"au plus {number(wait)} s, LAKEHOUSE_LOCK_WAIT_S"
                    out(f"verrou d'écriture détenu par {who} : attente ({limit})")
                    announced = True
                time.sleep(POLL_SECONDS)
        previous = _read_holder(handle)
        if previous is not None:
            out(
                f"verrou d'écriture repris : {previous.describe()} s'est arrêté sans le rendre "
                "(processus tué ?) ; ce qu'il a laissé à moitié est repris ou nettoyé par cette commande"
            )
        holder = Holder(command, os.getpid(), socket.gethostname(), datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"))
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(holder.__dict__) + "\n")
        handle.flush()
        try:
            yield holder
        finally:
            handle.seek(0)
            handle.truncate()
            handle.flush()
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        handle.close()
