"""The connector's output is checked as it is read: a damaged line, or a count of records that differs
from what the connector's STATE messages announce, fails the stream with a French message (nothing is
published) instead of a Python traceback or a silent loss. The connector here is a script printing a
given output, as a misbehaving connector would."""

from __future__ import annotations

import json

import pytest

from lakehouse.core.settings import load_settings
from lakehouse_ingestion.connector import ConnectorError, run_connector


def record(index: int) -> str:
    data = {"event_id": f"e{index:010d}", "occurred_at": "2025-01-01T00:00:00Z"}
    return json.dumps({"type": "RECORD", "record": {"stream": "raw_events", "data": data, "emitted_at": 1}})


def state(count: int) -> str:
    stream = {"stream_descriptor": {"name": "raw_events"}, "stream_state": {"occurred_at": "2025-01-01T00:00:00Z"}}
    return json.dumps(
        {"type": "STATE", "state": {"type": "STREAM", "stream": stream, "sourceStats": {"recordCount": count}}}
    )


def connector_printing(tmp_path, lines: list[str]):
    """Settings whose connector executable prints `lines` on its standard output, then exits 0."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    output = tmp_path / "output.jsonl"
    output.write_text("".join(f"{line}\n" for line in lines))
    executable = venv / "bin" / "source-declarative-manifest"
    executable.write_text(f"#!/bin/sh\ncat '{output}'\n")
    executable.chmod(0o755)
    return load_settings(environ={"LAKEHOUSE_AIRBYTE_VENV": str(venv)}, env_file=tmp_path / "absent.env")


def read_all(settings) -> list[dict]:
    return list(run_connector(settings, "read", {}, {"streams": []}))


def test_records_matching_the_announced_counts_are_all_yielded(tmp_path):
    lines = [record(0), record(1), state(2), "une ligne de journal en texte", record(2), state(1), state(0)]
    messages = read_all(connector_printing(tmp_path, lines))
    assert [m["type"] for m in messages] == ["RECORD", "RECORD", "STATE", "RECORD", "STATE", "STATE"]


def test_a_damaged_line_is_named_in_french(tmp_path):
    damaged = record(1)[:-1]  # its last brace lost, as when two writers interleave
    with pytest.raises(ConnectorError) as failed:
        read_all(connector_printing(tmp_path, [record(0), damaged, record(2), state(3)]))
    message = str(failed.value)
    assert "n'est pas un message Airbyte" in message and "ligne 2" in message and "Rien n'est publié" in message
    assert "Traceback" not in message and len(message) < 600


def test_fewer_records_than_announced_fail_the_stream(tmp_path):
    # The second half of a split record does not start with "{": it is skipped, and the count shows the loss.
    broken = record(1)
    lines = [record(0), broken[:40], broken[40:], record(2), state(3)]
    lines[1] = lines[1].replace("{", "")  # neither half is a message on its own
    with pytest.raises(ConnectorError, match="annonce 3 enregistrements, 2 reçus"):
        read_all(connector_printing(tmp_path, lines))
