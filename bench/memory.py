"""Peak resident memory of a piece of work and of the local stack, sampled while it runs.

    with PeakMemory(settings) as peak:
        peak.watch(process.pid)        # e.g. the `python -m lakehouse run` subprocess
        process.wait()
    peak.gigabytes                     # highest sum seen, in GB (10^9 bytes)

Every `INTERVAL` seconds, the resident set sizes (RSS) of the watched processes, of the stack's
services (their PID files: SeaweedFS, Thrift server, ...) and of all their descendants (the Spark JVMs
of the jobs, dbt, the connector processes) are added up; the highest sum is kept. RSS counts pages
shared between processes once per process, so the figure errs on the high side.
"""

from __future__ import annotations

import threading

import psutil

from lakehouse.core.settings import Settings
from lakehouse.services import ALL_SERVICES

INTERVAL = 0.25


class PeakMemory:
    def __init__(self, settings: Settings | None = None):
        self.settings = settings
        self.peak_bytes = 0
        self._watched: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample_until_stopped, daemon=True)

    def watch(self, pid: int) -> None:
        self._watched.add(pid)

    @property
    def gigabytes(self) -> float:
        return self.peak_bytes / 1e9

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()

    def _roots(self) -> set[int]:
        roots = set(self._watched)
        for service in ALL_SERVICES if self.settings else ():
            pid = service.process(self.settings).pid()
            if pid and pid > 0:
                roots.add(pid)
        return roots

    def _resident_bytes(self) -> int:
        processes: dict[int, psutil.Process] = {}
        for pid in self._roots():
            try:
                root = psutil.Process(pid)
                processes[pid] = root
                processes.update((child.pid, child) for child in root.children(recursive=True))
            except psutil.Error:  # gone between the listing and the read
                continue
        total = 0
        for process in processes.values():
            try:
                total += process.memory_info().rss
            except psutil.Error:
                continue
        return total

    def _sample_until_stopped(self) -> None:
        while True:
            self.peak_bytes = max(self.peak_bytes, self._resident_bytes())
            if self._stop.wait(INTERVAL):
                return
