"""Instants typed by users (`TIMESTAMP=`, `AS_OF=`): ISO 8601 or 'AAAA-MM-JJ HH:MM[:SS]', UTC when no zone is given."""

from __future__ import annotations

from datetime import UTC, datetime


def parse_utc_instant(text: str) -> datetime:
    """The instant `text` names, zone-aware; ValueError when it is unreadable (the caller words the message)."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
