"""The benchmark runner: each result file records the machine's reference (its speed that day) with the medians."""

from __future__ import annotations

import json

from bench import runner
from lakehouse_dev.machine import machine_reference, reference_line


def test_the_reference_is_the_cpu_time_of_a_fixed_loop_and_grows_with_it():
    short = machine_reference(repeats=1, loop=200_000)
    long = machine_reference(repeats=1, loop=2_000_000)
    assert 0 < short < long
    assert reference_line(1.234).startswith("référence de la machine : 1,23 s (")


def test_a_result_records_the_reference_taken_before_and_after(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "RESULTS_DIR", tmp_path)
    monkeypatch.setattr(runner, "machine_reference", lambda: 1.25)
    benchmark = runner.Benchmark("essai", "trois mesures", lambda: {"étape": [2.0, 1.0, 3.0]})
    lines = []
    assert runner.run_benchmarks([benchmark], out=lines.append) == 0
    result = json.loads((tmp_path / "essai.json").read_text())
    assert result["machine"]["reference_s"] == {"before": 1.25, "after": 1.25}
    assert result["measures"]["étape"]["median_s"] == 2.0
    assert "   référence de la machine : 1,25 s avant, 1,25 s après" in "\n".join(lines)
