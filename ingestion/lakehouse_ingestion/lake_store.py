"""The landing zone in S3: publish a stream's parts all-or-nothing, keep the connector's state.

Layout in the landing bucket (`LAKEHOUSE_LANDING_BUCKET`):

    bronze/<stream>/<YYYY>_<MM>_<DD>_<epoch_ms>_<part>.parquet    landed files (what bronze registers)
    _airbyte/<stream>/state.json                                  last committed state of the stream
    _airbyte/<stream>/pending.json                                a sync being published
    _airbyte/<stream>/staging/<sync_id>/<part>.parquet            its parts before publication

Publication protocol (nothing half-written under `bronze/`, nothing lost, nothing doubled):
1. `pending.json` is written with phase `staging`, the target keys and the new state;
2. every part is uploaded under `staging/`; then `pending.json` moves to phase `publishing`;
3. every part is copied to `bronze/<stream>/` (an S3 copy is atomic per object);
4. `state.json` is written, then `pending.json` and `staging/` are removed.
A crash in 1–2 leaves nothing visible: the next run drops the staging files. A crash in 3–4
is finished by the next run (the parts are complete in staging), then the state commits.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from lakehouse.core.clients import s3_client
from lakehouse.core.faults import fault_point
from lakehouse.core.settings import Settings
from lakehouse_ingestion.parquet_parts import LocalPart


@dataclass(frozen=True)
class CommittedState:
    """What the last successful sync of a stream left: the connector state and landed record versions."""

    sync_id: int | None
    state: dict[str, Any] | None
    landed_versions: frozenset[str]


class LakeStore:
    def __init__(self, settings: Settings):
        self.bucket = settings.landing_bucket
        self.prefix = settings.get("LANDING_PREFIX").strip("/")
        self.state_prefix = settings.get("LANDING_STATE_PREFIX").strip("/")
        self.s3 = s3_client(settings)

    # -- keys ------------------------------------------------------------------------------
    def landed_key(self, stream: str, name: str) -> str:
        return f"{self.prefix}/{stream}/{name}"

    def _state_key(self, stream: str) -> str:
        return f"{self.state_prefix}/{stream}/state.json"

    def _pending_key(self, stream: str) -> str:
        return f"{self.state_prefix}/{stream}/pending.json"

    def _staging_key(self, stream: str, sync_id: int, name: str) -> str:
        return f"{self.state_prefix}/{stream}/staging/{sync_id}/{name}"

    # -- small JSON objects -----------------------------------------------------------------
    def _get_json(self, key: str) -> dict[str, Any] | None:
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        return json.loads(body)

    def _put_json(self, key: str, payload: dict[str, Any]) -> None:
        self.s3.put_object(
            Bucket=self.bucket, Key=key, Body=json.dumps(payload, indent=1).encode(), ContentType="application/json"
        )

    def _exists(self, key: str) -> bool:
        try:
            self.s3.head_object(Bucket=self.bucket, Key=key)
            return True
        except ClientError:
            return False

    # -- state ---------------------------------------------------------------------------------
    def committed(self, stream: str) -> CommittedState:
        payload = self._get_json(self._state_key(stream)) or {}
        return CommittedState(
            payload.get("sync_id"), payload.get("state"), frozenset(payload.get("landed_versions", []))
        )

    def recover(self, stream: str) -> str | None:
        """Finish or roll back a sync interrupted during publication; describe what was done."""
        pending = self._get_json(self._pending_key(stream))
        if pending is None:
            return None
        sync_id = pending["sync_id"]
        if pending["phase"] == "publishing":
            for name in pending["parts"]:
                target = self.landed_key(stream, name)
                if not self._exists(target):
                    self._copy(self._staging_key(stream, sync_id, name), target)
            self._commit(stream, pending)
            parts = len(pending["parts"])
            return f"synchronisation {sync_id} interrompue pendant la publication : terminée ({parts} fichiers)"
        self._drop_staging(stream, sync_id, pending["parts"])
        self.s3.delete_object(Bucket=self.bucket, Key=self._pending_key(stream))
        return (
            f"synchronisation {sync_id} interrompue avant publication : "
            "fichiers temporaires retirés, rien n'avait été déposé"
        )

    # -- publication -----------------------------------------------------------------------------
    def publish(
        self,
        stream: str,
        sync_id: int,
        parts: list[LocalPart],
        state: dict[str, Any] | None,
        landed_versions: frozenset[str],
        fail_after: str | None = None,
    ) -> list[str]:
        """Publish the parts and commit the state; `fail_after` simulates a crash (tests only)."""
        names = [part.name for part in parts]
        pending = {
            "sync_id": sync_id,
            "phase": "staging",
            "parts": names,
            "state": state,
            "landed_versions": sorted(landed_versions),
            "started_at": time.time(),
        }
        self._put_json(self._pending_key(stream), pending)
        for part in parts:
            self.s3.upload_file(str(part.path), self.bucket, self._staging_key(stream, sync_id, part.name))
        _maybe_fail(fail_after, "staging")
        pending["phase"] = "publishing"
        self._put_json(self._pending_key(stream), pending)
        for index, name in enumerate(names):
            self._copy(self._staging_key(stream, sync_id, name), self.landed_key(stream, name))
            if index == 0:
                _maybe_fail(fail_after, "first-copy")
                fault_point("ingest-first-copy")
        self._commit(stream, pending)
        return [self.landed_key(stream, name) for name in names]

    def _copy(self, source: str, target: str) -> None:
        self.s3.copy_object(Bucket=self.bucket, Key=target, CopySource={"Bucket": self.bucket, "Key": source})

    def _commit(self, stream: str, pending: dict[str, Any]) -> None:
        payload = {
            "sync_id": pending["sync_id"],
            "state": pending["state"],
            "landed_versions": pending["landed_versions"],
            "committed_at": time.time(),
            "parts": pending["parts"],
        }
        self._put_json(self._state_key(stream), payload)
        self._drop_staging(stream, pending["sync_id"], pending["parts"])
        self.s3.delete_object(Bucket=self.bucket, Key=self._pending_key(stream))

    def _drop_staging(self, stream: str, sync_id: int, names: list[str]) -> None:
        for name in names:
            self.s3.delete_object(Bucket=self.bucket, Key=self._staging_key(stream, sync_id, name))

    def landed_objects(self, stream: str) -> list[dict[str, Any]]:
        """Objects under `bronze/<stream>/` (key, size), for reports and tests."""
        paginator = self.s3.get_paginator("list_objects_v2")
        objects = []
        for page in paginator.paginate(Bucket=self.bucket, Prefix=f"{self.prefix}/{stream}/"):
            objects.extend({"key": o["Key"], "size": o["Size"]} for o in page.get("Contents", []))
        return objects


class SimulatedCrash(RuntimeError):
    """Raised by `publish(fail_after=...)` in tests to interrupt a publication."""


def _maybe_fail(fail_after: str | None, point: str) -> None:
    if fail_after == point:
        raise SimulatedCrash(f"arrêt simulé après l'étape {point}")
