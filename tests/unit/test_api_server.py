"""Local BCEAO API stand-in: a real server on an ephemeral port, queried with `requests`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from lakehouse_dev import dataset
from lakehouse_dev.api_server import ApiState, start_api_server

KEY = "cle-de-test"
HEADERS = {"X-API-Key": KEY}
DEV_DIR = Path(__file__).resolve().parents[2] / "dev"


@pytest.fixture
def api():
    with start_api_server(ApiState(api_key=KEY, users=1200, events=5000)) as handle:
        yield handle


def get(api, path: str, **params) -> requests.Response:
    return requests.get(api.url + path, params=params, headers=HEADERS, timeout=30)


def admin(api, path: str, body: dict) -> dict:
    response = requests.post(api.url + path, json=body, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def all_pages(api, path: str, page_size: int, **params) -> list[dict]:
    records, page = [], 1
    while True:
        body = get(api, path, page=page, page_size=page_size, **params).json()
        assert body["page"] == page and body["page_size"] == page_size
        records += body["data"]
        if not body["has_more"]:
            assert len(records) == body["total"]
            return records
        page += 1


def test_health_needs_no_key_and_api_needs_the_right_one(api):
    assert requests.get(api.url + "/health", timeout=5).json() == {"status": "ok"}
    for headers in ({}, {"X-API-Key": "mauvaise"}):
        response = requests.get(api.url + "/api/indicators", headers=headers, timeout=5)
        assert response.status_code == 401
        assert response.headers["Content-Type"] == "application/json; charset=utf-8"
        assert response.json()["error"] == "invalid or missing API key" and response.json()["hint"]
    assert get(api, "/api/nothing").status_code == 404


def test_indicators_filters(api):
    response = get(api, "/api/indicators", country="BEN", year=2024)
    assert response.status_code == 200
    rows = response.json()
    assert [row["trimestre"] for row in rows] == [1, 2, 3, 4]
    assert rows == [
        row for row in dataset.indicator_records(vintage=1) if row["pays"] == "BEN" and row["annee"] == 2024
    ]
    assert rows[0]["masse_monetaire_m3_milliards_fcfa"] is None
    assert len(get(api, "/api/indicators", country="SEN").json()) == 60
    every_year = get(api, "/api/indicators", year=2015).json()
    assert [(row["pays"], row["trimestre"]) for row in every_year] == [
        (c, q) for c in dataset.COUNTRIES for q in (1, 2, 3, 4)
    ]
    assert get(api, "/api/indicators").json() == dataset.indicator_records(vintage=1)
    assert get(api, "/api/indicators", country="BEN", year=2025).json() == []
    unknown = get(api, "/api/indicators", country="FRA")
    assert unknown.status_code == 400 and "FRA" in unknown.json()["error"]
    assert get(api, "/api/indicators", year="deux-mille").status_code == 400


def test_vintage_switch_serves_the_revisions(api):
    assert {row["date_publication"] for row in get(api, "/api/indicators", country="CIV", year=2024).json()} == {
        "2025-03-31"
    }
    assert admin(api, "/admin/state", {"vintage": 2})["vintage"] == 2
    rows = get(api, "/api/indicators", country="CIV", year=2024).json()
    assert [row["date_publication"] for row in rows] == ["2025-03-31", "2025-03-31", "2025-06-30", "2025-06-30"]


def test_user_pages_cover_every_user_exactly_once(api):
    users = all_pages(api, "/api/users", page_size=500)
    assert len(users) == 1200
    assert sorted(user["user_id"] for user in users) == [f"u{i:07d}" for i in range(1200)]
    assert users == sorted(users, key=lambda user: (user["updated_at"], user["user_id"]))
    assert users[0] == dataset.user_record(int(users[0]["user_id"][1:]))
    default = get(api, "/api/users").json()
    assert default["page_size"] == 500 and default["has_more"] and default["total"] == 1200
    assert get(api, "/api/users", page_size=50_000).json()["page_size"] == 10_000
    assert get(api, "/api/users", page=0).status_code == 400


def test_updated_since_is_inclusive(api):
    users = all_pages(api, "/api/users", page_size=1000)
    cut = users[700]["updated_at"]
    since = all_pages(api, "/api/users", page_size=1000, updated_since=cut)
    assert since == [user for user in users if user["updated_at"] >= cut]
    assert since[0]["updated_at"] == cut
    assert get(api, "/api/users", updated_since="hier").status_code == 400


def test_touched_users_come_after_the_previous_maximum(api):
    before = all_pages(api, "/api/users", page_size=1000)
    old_max = before[-1]["updated_at"]
    assert admin(api, "/admin/touch-users", {"count": 5, "updated_at": "2025-07-01T08:00:00Z"})["touched"] == 5
    touched = all_pages(api, "/api/users", page_size=1000, updated_since=old_max)
    new = [user for user in touched if user["updated_at"] > old_max]
    assert [user["user_id"] for user in new] == [f"u{i:07d}" for i in range(5)]
    for user in new:
        assert user["updated_at"] == "2025-07-01T08:00:00Z"
        assert user["email"] == "new." + dataset.user_record(int(user["user_id"][1:]))["email"]
    assert len(all_pages(api, "/api/users", page_size=1000)) == 1200


def test_a_touched_user_can_move_to_another_country(api):
    moved = admin(api, "/admin/touch-users", {"count": 2, "updated_at": "2025-08-01T00:00:00Z", "pays": "TGO"})
    assert moved["pays"] == "TGO"
    users = {user["user_id"]: user for user in all_pages(api, "/api/users", page_size=1000)}
    assert users["u0000000"]["pays"] == users["u0000001"]["pays"] == "TGO"
    assert users["u0000002"]["pays"] == dataset.user_record(2)["pays"]
    refused = requests.post(
        api.url + "/admin/touch-users",
        json={"count": 1, "updated_at": "2025-08-01T00:00:00Z", "pays": "FRA"},
        timeout=5,
    )
    assert refused.status_code == 400 and "SEN" in refused.json()["error"]


def test_events_pages_and_occurred_since(api):
    events = all_pages(api, "/api/events", page_size=1000)
    assert [event["event_id"] for event in events] == [f"e{i:010d}" for i in range(5000)]
    assert events == [dataset.event_record(i, users=1200) for i in range(5000)]
    cut = events[3210]["occurred_at"]
    since = get(api, "/api/events", occurred_since=cut, page_size=10_000).json()
    assert since["total"] == 5000 - 3210 and since["data"][0]["event_id"] == "e0000003210"
    between = dataset.iso_utc(dataset.event_seconds(3210) - 1)  # before event 3210, after 3209
    assert get(api, "/api/events", occurred_since=between).json()["data"][0]["event_id"] == "e0000003210"
    assert get(api, "/api/events", occurred_since="2030-01-01T00:00:00+00:00").json()["total"] == 0


def test_appended_events_come_after_the_last_one(api):
    last = get(api, "/api/events", page=5, page_size=1000).json()["data"][-1]
    assert admin(api, "/admin/append-events", {"count": 300})["events"] == 5300
    new = get(api, "/api/events", occurred_since=last["occurred_at"]).json()
    assert new["total"] == 301 and new["data"][0] == last
    assert all(event["occurred_at"] > last["occurred_at"] for event in new["data"][1:])


def test_a_million_events_last_page_is_computed_not_materialized(api):
    admin(api, "/admin/state", {"events": 1_000_000})
    size = 10_000
    body = get(api, "/api/events", page=100, page_size=size).json()
    assert body["total"] == 1_000_000 and not body["has_more"]
    assert body["data"][0]["event_id"] == f"e{99 * size:010d}"
    assert body["data"][-1]["event_id"] == "e0000999999"
    since = dataset.iso_utc(dataset.event_seconds(987_654))
    tail = get(api, "/api/events", occurred_since=since, page=2, page_size=1000).json()
    assert tail["total"] == 1_000_000 - 987_654
    assert tail["data"][0]["event_id"] == f"e{987_654 + 1000:010d}"


def test_fault_switches(api):
    admin(api, "/admin/state", {"fail_429": 2, "fail_500": 1})
    first, second = get(api, "/api/users"), get(api, "/api/users")
    assert first.status_code == second.status_code == 429
    assert first.headers["Retry-After"] == "1" and first.json()["error"]
    assert get(api, "/api/users").status_code == 500
    assert get(api, "/api/users").status_code == 200

    admin(api, "/admin/state", {"down": True})
    assert get(api, "/api/indicators").status_code == 503
    assert requests.get(api.url + "/health", timeout=5).status_code == 200
    admin(api, "/admin/state", {"down": False, "malformed": True, "slow_ms": 20})
    rows = get(api, "/api/indicators", country="CIV", year=2024).json()
    assert [row["pib_nominal_milliards_fcfa"] for row in rows].count("n/a") == 1
    assert sum(isinstance(row["pib_nominal_milliards_fcfa"], str) for row in get(api, "/api/indicators").json()) == 1
    assert all(
        isinstance(row["pib_nominal_milliards_fcfa"], float)
        for row in get(api, "/api/indicators", country="SEN").json()
    )

    stats = requests.get(api.url + "/admin/stats", timeout=5).json()["requests_by_path"]
    assert stats["/api/users"] == 4 and stats["/api/indicators"] == 4
    assert api.state.requests_by_path == stats | {"/admin/stats": 1}


def test_admin_state_rejects_bad_input_and_hides_the_key(api):
    state = admin(api, "/admin/state", {"users": 10})
    assert KEY not in str(state) and "api_key" not in state and state["users"] == 10
    for body in ({"vintage": 3}, {"unknown": 1}, {"down": "oui"}, {"fail_500": -1}):
        assert requests.post(api.url + "/admin/state", json=body, timeout=5).status_code == 400


def test_cli_requires_a_key_and_serves_until_sigterm():
    env = {**os.environ, "PYTHONPATH": str(DEV_DIR), "LAKEHOUSE_API_KEY": ""}
    command = [sys.executable, "-m", "lakehouse_dev.api_server"]
    missing = subprocess.run(command, env=env, capture_output=True, text=True, timeout=30)
    assert missing.returncode == 2 and "LAKEHOUSE_API_KEY" in missing.stderr

    with subprocess.Popen(
        [*command, "--port", "0", "--api-key", KEY, "--events", "20"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as server:
        try:
            line = server.stdout.readline()
            assert line.startswith("API BCEAO simulée sur http://127.0.0.1:") and "X-API-Key" in line
            url = line.split()[4]
            assert requests.get(url + "/api/events", headers=HEADERS, timeout=5).json()["total"] == 20
            server.terminate()
            assert server.wait(timeout=10) == 0
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()


def test_a_client_that_hangs_up_before_the_answer_prints_no_traceback(api, capfd):
    admin(api, "/admin/state", {"slow_ms": 1500})
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(api.url + "/api/indicators", headers=HEADERS, timeout=0.3)
    time.sleep(1.5)  # the server answers the closed socket
    admin(api, "/admin/state", {"slow_ms": 0})
    assert "Traceback" not in capfd.readouterr().err
