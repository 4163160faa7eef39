"""The append-only, hash-chained audit trail: one writer, one verifier.

Each entry's hash covers its content and the previous entry's hash, so editing or
deleting any entry breaks every later link. ``previous_hash`` is unique: two writers
racing for the same predecessor cannot fork the chain; the loser retries on the new head.
Entries hold no personal data beyond ids and a /24 or /48 client network.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from audit.tables import AuditEvent
from privacy.masking import mask_ip

GENESIS = "0" * 64
_ATTEMPTS = 20


@dataclass(frozen=True, slots=True)
class Actor:
    kind: str  # "user", "partner", "anonymous", "system"
    id: uuid.UUID | None = None


def _entry_hash(previous_hash: str, fields: dict[str, Any]) -> str:
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{previous_hash}\n{canonical}".encode()).hexdigest()


def _hashed_fields(row: dict[str, Any]) -> dict[str, Any]:
    details = row["details"]
    occurred_at: datetime = row["occurred_at"]
    return {
        "occurred_at": occurred_at.astimezone(UTC).isoformat(),
        "event_type": row["event_type"],
        "actor_kind": row["actor_kind"],
        "actor_id": str(row["actor_id"]) if row["actor_id"] else None,
        "request_id": row["request_id"],
        "client_network": row["client_network"],
        "target_type": row["target_type"],
        "target_id": row["target_id"],
        "details": json.loads(details) if isinstance(details, str) else details,
    }


async def record_event(
    event_type: str,
    *,
    actor: Actor,
    client_ip: Any = None,
    request_id: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> str:
    """Append one event; returns its hash. Never stores a full IP address."""
    row: dict[str, Any] = {
        "occurred_at": datetime.now(UTC).replace(microsecond=0),
        "event_type": event_type,
        "actor_kind": actor.kind,
        "actor_id": actor.id,
        "request_id": request_id,
        "client_network": mask_ip(str(client_ip)) if client_ip is not None else None,
        "target_type": target_type,
        "target_id": target_id,
        "details": details or {},
    }
    for _attempt in range(_ATTEMPTS):
        head = (
            await AuditEvent.select(AuditEvent.entry_hash)
            .order_by(AuditEvent.id, ascending=False)
            .first()
        )
        previous = head["entry_hash"] if head else GENESIS
        entry_hash = _entry_hash(previous, _hashed_fields(row))
        try:
            await AuditEvent.insert(
                AuditEvent(**row, previous_hash=previous, entry_hash=entry_hash)
            )
        except (sqlite3.IntegrityError, asyncpg.UniqueViolationError):
            continue  # another writer took this predecessor: chain onto the new head
        return entry_hash
    raise RuntimeError("could not append to the audit trail")


@dataclass(frozen=True, slots=True)
class Verification:
    entries: int
    first_broken_id: int | None

    @property
    def intact(self) -> bool:
        return self.first_broken_id is None


async def verify_trail(batch_size: int = 1000) -> Verification:
    """Walk the chain in order; the first entry whose link or hash does not match."""
    previous = GENESIS
    last_id = 0
    count = 0
    while True:
        rows = (
            await AuditEvent.select()
            .where(AuditEvent.id > last_id)
            .order_by(AuditEvent.id)
            .limit(batch_size)
        )
        if not rows:
            return Verification(entries=count, first_broken_id=None)
        for row in rows:
            expected = _entry_hash(previous, _hashed_fields(row))
            if row["previous_hash"] != previous or row["entry_hash"] != expected:
                return Verification(entries=count, first_broken_id=row["id"])
            previous = row["entry_hash"]
            last_id = row["id"]
            count += 1
