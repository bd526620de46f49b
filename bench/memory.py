"""Peak resident memory of a piece of work and of the local stack, sampled while it runs.

    with PeakMemory(settings) as peak:
        peak.watch(process.pid)        # e.g. the `python -m lakehouse run` subprocess
        process.wait()
    peak.gigabytes                     # highest sum of RSS seen, in GB (10^9 bytes)
    peak.pss_gigabytes                 # sum of PSS at that peak (shared pages split between processes)
    peak.composition()                 # the processes at that moment, largest first

Every `INTERVAL` seconds, the resident set sizes (RSS) of the watched processes, of the stack's
services (their PID files: SeaweedFS, Thrift server, ...) and of all their descendants (the Spark JVMs
of the jobs, dbt, the connector processes) are added up; the highest sum is kept. RSS counts pages
shared between processes once per process (the JVM's libraries and class archives, Python's), so the
figure errs on the high side. Their proportional set sizes (PSS: each shared page divided between the
processes that map it) are added up at a new peak: that sum is the memory the processes hold together.

The sampler must not slow down what it measures. Reading PSS makes the kernel walk every page table of
a process (about 30 ms for the stack's JVMs, under their memory-map lock): read at every new peak (4 per
second while a run grows), it cost a daily increment about 5 s of its 40 (`make bench
BENCH=run_increment`, 2 cores). PSS is therefore read only when the RSS peak has grown by
`PSS_REREAD_GROWTH` since it was last read (a few times per run): the PSS figure is the one read at the
highest such step, so it may be up to that fraction below the PSS at the exact peak.
"""

from __future__ import annotations

import threading

import psutil

from lakehouse.core.settings import Settings
from lakehouse.services import ALL_SERVICES

INTERVAL = 0.25
PSS_REREAD_GROWTH = 0.05  # PSS read again once the RSS peak is 5 % above the last read


class PeakMemory:
    def __init__(self, settings: Settings | None = None):
        self.settings = settings
        self.peak_bytes = 0
        self.peak_pss_bytes = 0
        self._pss_read_at_rss = 0  # the RSS peak at which PSS was last read
        self.at_peak: list[tuple[int, str]] = []
        self._watched: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample_until_stopped, daemon=True)

    def watch(self, pid: int) -> None:
        self._watched.add(pid)

    @property
    def gigabytes(self) -> float:
        return self.peak_bytes / 1e9

    @property
    def pss_gigabytes(self) -> float:
        return self.peak_pss_bytes / 1e9

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

    def _resident(self) -> list[tuple[int, psutil.Process, str]]:
        """(RSS bytes, process, what the process is) of every watched process and descendant."""
        processes: dict[int, psutil.Process] = {}
        for pid in self._roots():
            try:
                root = psutil.Process(pid)
                processes[pid] = root
                processes.update((child.pid, child) for child in root.children(recursive=True))
            except psutil.Error:  # gone between the listing and the read
                continue
        resident = []
        for process in processes.values():
            try:
                resident.append((process.memory_info().rss, process, _describe(process)))
            except psutil.Error:
                continue
        return resident

    @staticmethod
    def _pss(resident: list[tuple[int, psutil.Process, str]]) -> int:
        """Sum of PSS (about 30 ms for the stack's JVMs: read only when the peak has grown enough)."""
        total = 0
        for rss, process, _ in resident:
            try:
                total += getattr(process.memory_full_info(), "pss", rss)
            except psutil.Error:
                total += rss
        return total

    def _sample_until_stopped(self) -> None:
        while True:
            resident = self._resident()
            total = sum(rss for rss, _, _ in resident)
            if total > self.peak_bytes:
                self.peak_bytes, self.at_peak = total, sorted(((rss, what) for rss, _, what in resident), reverse=True)
                if total >= self._pss_read_at_rss * (1 + PSS_REREAD_GROWTH):
                    self.peak_pss_bytes, self._pss_read_at_rss = self._pss(resident), total
            if self._stop.wait(INTERVAL):
                return

    def composition(self) -> str:
        """The processes at the peak, largest first: `thrift 2.10 Go, spark-job 1.20 Go, ...`."""
        return ", ".join(f"{what} {rss / 1e9:.2f} Go" for rss, what in self.at_peak if rss >= 50e6)


def _describe(process: psutil.Process) -> str:
    command = " ".join(process.cmdline())
    for marker, label in (
        ("HiveThriftServer2", "thrift"),
        ("pyspark-shell", "spark-job"),
        ("weed", "seaweedfs"),
        ("lakehouse.dbt_cli", "dbt"),
        ("source-declarative-manifest", "connecteur"),
        ("-m lakehouse", "lakehouse"),
    ):
        if marker in command:
            return label
    return process.name()
