"""The run report's pure parts: freshness verdicts, the Prometheus text, what `make status` prints."""

from __future__ import annotations

from datetime import UTC, datetime

from lakehouse.run_report import Freshness, RunReport, StepRecord, TableRecord, format_last_run, prometheus_text

NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)


def _report(status: str = "success") -> RunReport:
    report = RunReport(run_id="r1", started_at="2026-12-03T07:58:00+00:00", status=status, seconds=120.5)
    report.steps = [
        StepRecord("ingest", "ok", 10.0, "3 flux", {"records_landed": {"raw_events": 2000, "raw_users": 200}}),
        StepRecord("register", "ok", 20.0, "", {"files_quarantined": {"raw_events": 1}}),
    ]
    report.tables = [TableRecord('gold.t"x', 480, 15, "123", 2)]
    report.freshness = [Freshness("raw_events", "2026-12-02T08:00:00+00:00", 86400.0 * 3, 2, 7)]
    return report


def test_freshness_follows_the_thresholds_of_the_streams():
    def verdict(days: float | None) -> str:
        return Freshness("s", None, None if days is None else days * 86400, 2, 7).status

    assert [verdict(1), verdict(2), verdict(3), verdict(7.5), verdict(None)] == [
        "ok",
        "ok",
        "alerte",
        "erreur",
        "inconnue",
    ]


def test_prometheus_text_has_one_help_and_type_per_metric_and_escaped_labels():
    text = prometheus_text(_report(), NOW, last_success=None)
    lines = text.splitlines()
    names = [line.split()[2] for line in lines if line.startswith("# TYPE")]
    assert len(names) == len(set(names)) and all(n.startswith("lakehouse_") for n in names)
    assert "lakehouse_run_success 1" in lines
    assert f"lakehouse_last_success_timestamp_seconds {NOW.timestamp():g}" in lines
    assert 'lakehouse_records_landed{stream="raw_events"} 2000' in lines
    assert 'lakehouse_quarantined_files{stream="raw_events"} 1' in lines
    assert 'lakehouse_table_rows{table="gold.t\\"x"} 480' in lines
    assert 'lakehouse_step_duration_seconds{step="register",status="ok"} 20' in lines
    assert 'lakehouse_source_freshness_seconds{source="raw_events"} 259200' in lines
    assert 'lakehouse_source_freshness_error_seconds{source="raw_events"} 604800' in lines
    assert text.endswith("\n")


def test_a_failed_run_keeps_the_last_success_timestamp():
    text = prometheus_text(_report("failed"), NOW, last_success=1796000000.0)
    assert "lakehouse_run_success 0" in text.splitlines()
    assert "lakehouse_last_success_timestamp_seconds 1.796e+09" in text.splitlines()
    assert "lakehouse_last_success_timestamp_seconds" not in prometheus_text(_report("failed"), NOW, None)


def test_make_status_prints_the_steps_and_the_freshness():
    body = __import__("json").loads(_report().to_json())
    lines = format_last_run(body)
    assert lines[0] == "dernière exécution (make run) : 2026-12-03T07:58:00+00:00, réussie, 121 s"  # 120,5 s, half up
    assert any(line.strip().startswith("ingest") and "OK" in line for line in lines)
    assert any("fraîcheur raw_events" in line and "3,0 j" in line and "alerte" in line for line in lines)


def test_make_status_wraps_long_summaries_at_words_and_shows_a_run_in_progress():
    from lakehouse.run_report import format_in_progress

    report = _report()
    long = "dbt build sur la branche : " + " ".join(f"modèle_{i} OK" for i in range(30))
    report.steps.append(StepRecord("dbt-build", "ok", 70.26, long))
    lines = format_last_run(__import__("json").loads(report.to_json()))
    shown = [line for line in lines if "modèle_" in line]
    assert len(shown) > 1 and all(len(line) <= 110 for line in shown)
    assert " ".join(" ".join(line.split()) for line in shown).endswith(long.split(" : ", 1)[1])  # nothing cut
    assert "70,3 s" in shown[0]
    running = {"pid": 42, "started_at": "2026-12-03T07:58:00+00:00", "index": 4, "total": 7, "step": "dbt-build"}
    running["step_started_at"] = "2026-12-03T07:59:00+00:00"
    assert format_in_progress(running, NOW) == (
        "exécution en cours (make run, PID 42, commencée le 2026-12-03T07:58:00+00:00) : "
        "étape 4/7 dbt-build depuis 60 s"
    )
