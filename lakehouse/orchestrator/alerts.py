"""Alerts of the orchestrator: one JSON message POSTed to `LAKEHOUSE_ALERT_WEBHOOK` (a failed run, a stale
source). Sending never fails a run: an unreachable receiver is said in the run's log."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime

from lakehouse.core.reporting import Reporter
from lakehouse.core.settings import Settings

TIMEOUT_S = 10
SOURCE = "lakehouse-uemoa"


def post_alert(settings: Settings, event: str, out: Reporter, **fields) -> bool:
    """POST {"source", "evenement", "date", **fields} to the webhook when one is set; True once it answered 2xx."""
    url = settings.get("ALERT_WEBHOOK")
    if not url:
        return False
    body = {"source": SOURCE, "evenement": event, "date": datetime.now(UTC).isoformat(timespec="seconds"), **fields}
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    try:
        request = urllib.request.Request(
            url, data=data, headers={"Content-Type": "application/json; charset=utf-8"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            response.read()
    except (urllib.error.URLError, OSError, ValueError) as error:  # ValueError: not an http(s) URL
        out(f"alerte « {event} » non envoyée à LAKEHOUSE_ALERT_WEBHOOK ({url}) : {error}")
        return False
    out(f"alerte « {event} » envoyée à {url}")
    return True
