"""Benchmarks of `make run` as a scheduler calls it every day (issue 13).

`run_noop`: `make run` again with nothing new (at most 15 s, and 0 new snapshots). On a throwaway
stack, `python -m lakehouse run` (what `make run` calls, Python start included) runs once on the
sample data from the API stand-in: stack, ingest, register, audited dbt build, maintenance. Then it runs
`RUNS` more times with nothing new. Each of these runs is timed as a whole and step by step (from
its own progress lines). The snapshots of every table of every namespace are listed before and after
each run. Derived: the median against the goal, and the number of new snapshots, which must be 0.
Both benchmarks also report the peak resident memory of the stack and of `make run` with its jobs
(`bench.memory`; goal: at most 4 GB), the highest over all their runs.

`first_run`: a newcomer's first `make run` (goal: at most 150 s, search index included). `RUNS` times, on
a new throwaway stack each time (nothing of the lake exists; the packages, the verified jars and the
class archive of `make setup` do), `python -m lakehouse run` runs once on the sample data: timed as a
whole and step by step; then one `make ask`, which must answer with the figure from gold and passages
(the index is ready when the run ends). Derived: the median against the goal and each step's share of
the median run.

`run_increment`: a daily increment (at most 45 s, and gold equal to a full rebuild). On another
throwaway stack, the API stand-in runs in this process with the sample data (1,000 users, 20,000
events) and the first publication vintage; `make run` runs once. Then, `RUNS` times, the stand-in
gets one more day of events (12,343 events: one every 7 s), 3 users updated, and, the first time only,
the second vintage, which revises 2024 T3 and T4 of four countries (the stand-in has two vintages, so
only one increment can carry a revision: it is reported on its own line). Each `make run` is timed as
a whole and step by step. At the end, every silver and gold table is read, then rebuilt from scratch
(`dbt build --full-refresh`) and read again: the number of tables whose rows differ must be 0.
"""

from __future__ import annotations

import json
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa

from bench.memory import PeakMemory
from bench.runner import RESULTS_DIR, Benchmark, Samples
from bench.stack_benchmarks import RUNS, subprocess_env, user_stack
from lakehouse.core.clients import iceberg_catalog
from lakehouse.core.numbers import parse as parse_number
from lakehouse.core.settings import PROJECT_ROOT
from lakehouse.dbt_runner import dbt_command

PORT_BASE = 22450
INCREMENT_PORT_BASE = 22550
EVENTS_PER_DAY = 86_400 // 7
INCREMENT_WITH_REVISION = "incrément : 1 jour d'événements, 3 utilisateurs, millésime révisé"
INCREMENT = "incrément : 1 jour d'événements, 3 utilisateurs"
DIFFERENT_TABLES = "tables silver/gold ≠ reconstruction complète (un nombre, pas des secondes)"
STEP_LINE = re.compile(r"^\[\d+/\d+\] ([\w-]+): OK en ([\d,\u202f]+) s")
NEW_SNAPSHOTS = "nouveaux snapshots par exécution (un nombre, pas des secondes)"
PEAK_MEMORY = "pic de mémoire résidente pile + make run (Go, pas des secondes)"
PSS_PEAKS: list[float] = []  # the same peaks as sums of PSS, in GB (`bench.memory`)


def _every_snapshot(settings) -> set[tuple[str, int]]:
    catalog = iceberg_catalog(settings)
    return {
        (".".join(identifier), snapshot.snapshot_id)
        for (namespace,) in catalog.list_namespaces()
        for identifier in catalog.list_tables(namespace)
        for snapshot in catalog.load_table(identifier).snapshots()
    }


def _keep_output(text: str) -> None:
    """Each timed `make run`'s output, in order, beside the results: `bench/results/make-run-logs/NN.txt`."""
    folder = RESULTS_DIR / "make-run-logs"
    if not _KEPT:
        shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    _KEPT.append(folder / f"{len(_KEPT) + 1:02d}.txt")
    _KEPT[-1].write_text(text, encoding="utf-8")


_KEPT: list[Path] = []


def _make_run(env: dict[str, str], settings, peaks: list[float], *arguments: str) -> tuple[float, dict[str, float]]:
    """Time one `python -m lakehouse run`; append the peak resident memory of the stack and the run (GB)."""
    started = time.perf_counter()
    with PeakMemory(settings) as peak:
        process = subprocess.Popen(
            [sys.executable, "-m", "lakehouse", "run", *arguments],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        peak.watch(process.pid)
        stdout, stderr = process.communicate()
    elapsed = time.perf_counter() - started
    _keep_output(stdout + stderr)
    if process.returncode != 0:
        raise RuntimeError(f"make run en échec :\n{stdout[-3000:]}{stderr[-2000:]}")
    peaks.append(peak.gigabytes)
    PSS_PEAKS.append(peak.pss_gigabytes)
    print(
        f"   make run {' '.join(arguments)}: pic de mémoire {peak.gigabytes:.2f} Go ({peak.composition()}) ; "
        f"en PSS {peak.pss_gigabytes:.2f} Go"
    )
    steps = {m.group(1): parse_number(m.group(2)) for m in map(STEP_LINE.match, stdout.splitlines()) if m}
    return elapsed, steps


def run_noop() -> Samples:
    samples: Samples = {"premier make run (échantillon)": [], PEAK_MEMORY: []}
    PSS_PEAKS.clear()
    with user_stack("bench-run-", PORT_BASE) as (settings, env_file):
        env = subprocess_env(env_file)
        first, _ = _make_run(env, settings, samples[PEAK_MEMORY])
        samples["premier make run (échantillon)"].append(first)
        new_snapshots = []
        for _ in range(RUNS):
            before = _every_snapshot(settings)
            elapsed, steps = _make_run(env, settings, samples[PEAK_MEMORY])
            new_snapshots.append(len(_every_snapshot(settings) - before))
            samples.setdefault("make run sans rien de neuf", []).append(elapsed)
            for name, seconds in steps.items():
                samples.setdefault(f"  étape {name}", []).append(seconds)
        samples[NEW_SNAPSHOTS] = [float(n) for n in new_snapshots]
    return samples


FIRST_RUN = "premier make run (échantillon, pile neuve)"
FIRST_ASK = "make ask juste après (premier appel : démarre le serveur)"
FIRST_QUESTION = "Le Niger a-t-il respecté le critère d'inflation en 2022 ?"
FIRST_RUN_PORT_BASE = 22650


def first_run() -> Samples:
    samples: Samples = {FIRST_RUN: [], PEAK_MEMORY: []}
    PSS_PEAKS.clear()
    for attempt in range(RUNS):
        with user_stack(f"bench-first-{attempt}-", FIRST_RUN_PORT_BASE) as (settings, env_file):
            env = subprocess_env(env_file)
            elapsed, steps = _make_run(env, settings, samples[PEAK_MEMORY])
            samples.setdefault(FIRST_ASK, []).append(_ask_answers(env))
        samples[FIRST_RUN].append(elapsed)
        for name, seconds in steps.items():
            samples.setdefault(f"  étape {name}", []).append(seconds)
        shares = ", ".join(f"{name} {seconds:.1f}" for name, seconds in steps.items())
        print(f"   premier make run n° {attempt + 1} : {elapsed:.1f} s ({shares})")
    return samples


def _ask_answers(env: dict[str, str]) -> float:
    """Seconds of a first `make ask` right after the run (it starts the warm server); it must give the
    figure from gold and cite passages: the search index is ready."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "lakehouse", "ask", FIRST_QUESTION, "--format", "json"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    body = json.loads(result.stdout) if result.returncode == 0 else {}
    if not body.get("figures") or not body.get("passages"):
        raise RuntimeError(
            f"make ask ne répond pas après le premier make run :\n{result.stdout[-2000:]}{result.stderr}"
        )
    return seconds


def first_run_against_goal(samples: Samples) -> dict[str, float]:
    total = statistics.median(samples[FIRST_RUN])
    figures = {"premier make run (s), médiane — objectif ≤ 150": round(total, 1)}
    for measure, values in samples.items():
        if measure.startswith("  étape "):
            figures[f"part de{measure.removeprefix('  étape')} (% de la médiane)"] = round(
                100 * statistics.median(values) / total, 1
            )
    return {**figures, **_peak_memory(samples)}


def noop_against_goal(samples: Samples) -> dict[str, float]:
    noop = statistics.median(samples["make run sans rien de neuf"])
    return {
        "make run sans rien de neuf (s) — objectif ≤ 15": round(noop, 1),
        "premier make run / make run sans rien de neuf": round(
            statistics.median(samples["premier make run (échantillon)"]) / noop, 1
        ),
        "nouveaux snapshots au total (objectif 0)": sum(samples[NEW_SNAPSHOTS]),
        **_peak_memory(samples),
    }


def _peak_memory(samples: Samples) -> dict[str, float]:
    figures = {
        "pic de mémoire résidente de la pile pendant make run (Go) — objectif ≤ 4": round(max(samples[PEAK_MEMORY]), 2)
    }
    if PSS_PEAKS:
        figures["même pic en PSS, pages partagées comptées une fois (Go)"] = round(max(PSS_PEAKS), 2)
    return figures


def _published_rows(settings) -> dict[str, pa.Table]:
    """Every silver and gold table's rows on main, sorted on every column (order-free comparison)."""
    catalog = iceberg_catalog(settings)
    tables = {}
    for namespace in settings.audited_namespaces:
        for identifier in catalog.list_tables(namespace):
            rows = catalog.load_table(identifier).scan().to_arrow()
            tables[".".join(identifier)] = rows.sort_by([(name, "ascending") for name in rows.column_names])
    return tables


def run_increment() -> Samples:
    from lakehouse_dev.api_server import ApiState, start_api_server

    samples: Samples = {"premier make run (échantillon, millésime 1)": [], PEAK_MEMORY: []}
    PSS_PEAKS.clear()
    with user_stack("bench-increment-", INCREMENT_PORT_BASE) as (settings, env_file):
        state = ApiState(api_key=settings.get("BCEAO_API_KEY"), vintage=1, users=1000, events=20_000)
        with start_api_server(state) as server:
            env = subprocess_env(env_file, LAKEHOUSE_BCEAO_API_URL=server.url)
            samples["premier make run (échantillon, millésime 1)"].append(
                _make_run(env, settings, samples[PEAK_MEMORY])[0]
            )
            for day in range(1, RUNS + 1):
                state.append_events(EVENTS_PER_DAY)
                state.touch_users(3, f"2026-01-{day:02d}T08:00:00Z")
                label = INCREMENT
                if day == 1:
                    state.vintage, label = 2, INCREMENT_WITH_REVISION
                elapsed, steps = _make_run(env, settings, samples[PEAK_MEMORY])
                samples.setdefault(label, []).append(elapsed)
                for name, seconds in steps.items():
                    samples.setdefault(f"  {'révision' if day == 1 else 'incrément'} : étape {name}", []).append(
                        seconds
                    )
        incremental = _published_rows(settings)
        command, dbt_env, cwd = dbt_command(settings, ["build", "--full-refresh", "--no-use-colors"])
        rebuilt = subprocess.run(command, env=dbt_env, cwd=cwd, capture_output=True, text=True)
        if rebuilt.returncode != 0:
            raise RuntimeError(f"dbt build --full-refresh en échec :\n{rebuilt.stdout[-3000:]}")
        full = _published_rows(settings)
        different = sorted(name for name in full if name not in incremental or not full[name].equals(incremental[name]))
        if different:
            print(f"   tables différentes d'une reconstruction complète : {', '.join(different)}")
        samples[DIFFERENT_TABLES] = [float(len(different) + len(set(incremental) - set(full)))]
    return samples


def increment_against_goal(samples: Samples) -> dict[str, float]:
    figures = {
        "incrément avec millésime révisé (s) — objectif ≤ 45": round(
            statistics.median(samples[INCREMENT_WITH_REVISION]), 1
        ),
        "tables silver/gold différentes d'une reconstruction complète (objectif 0)": sum(samples[DIFFERENT_TABLES]),
        **_peak_memory(samples),
    }
    if INCREMENT in samples:
        figures["incrément sans révision (s) — objectif ≤ 45"] = round(statistics.median(samples[INCREMENT]), 1)
    return figures


BENCHMARKS = [
    Benchmark(
        "first_run",
        "premier make run d'un nouvel utilisateur sur une pile neuve (paquets installés), index de recherche compris : "
        "total et part de chaque étape",
        first_run,
        derive=first_run_against_goal,
    ),
    Benchmark(
        "run_noop",
        "make run relancé sans rien de neuf (Python compris), total et par étape, et snapshots créés",
        run_noop,
        derive=noop_against_goal,
    ),
    Benchmark(
        "run_increment",
        "make run après un jour d'événements, 3 utilisateurs modifiés et un millésime révisé ; gold comparé "
        "à une reconstruction complète",
        run_increment,
        derive=increment_against_goal,
    ),
]
