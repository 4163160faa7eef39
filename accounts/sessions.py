"""Server-side sessions, keyed by the SHA-256 of the cookie token.

The cookie holds only a random 256-bit token; the store never sees it, so a dump of the
store yields no usable session. Litestar's ServerSideSessionConfig keys sessions by the
raw cookie value and cannot list or revoke a user's sessions, hence this small store.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from redis.asyncio import Redis

from permissions.roles import Role


@dataclass(frozen=True, slots=True)
class SessionRecord:
    public_id: str
    user_id: uuid.UUID
    role: Role | None  # None until a role that requires MFA has enrolled it
    organisation_id: uuid.UUID | None
    created_at: datetime
    last_seen_at: datetime
    authenticated_at: datetime
    mfa_at: datetime | None
    client_network: str
    user_agent: str

    def to_json(self) -> str:
        values: dict[str, Any] = asdict(self)
        for name, value in values.items():
            if isinstance(value, datetime):
                values[name] = value.isoformat()
            elif isinstance(value, uuid.UUID | Role):
                values[name] = str(value.value if isinstance(value, Role) else value)
        return json.dumps(values, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> SessionRecord:
        values = json.loads(text)
        return cls(
            public_id=values["public_id"],
            user_id=uuid.UUID(values["user_id"]),
            role=Role(values["role"]) if values["role"] else None,
            organisation_id=uuid.UUID(values["organisation_id"])
            if values["organisation_id"]
            else None,
            created_at=datetime.fromisoformat(values["created_at"]),
            last_seen_at=datetime.fromisoformat(values["last_seen_at"]),
            authenticated_at=datetime.fromisoformat(values["authenticated_at"]),
            mfa_at=datetime.fromisoformat(values["mfa_at"]) if values["mfa_at"] else None,
            client_network=values["client_network"],
            user_agent=values["user_agent"],
        )

    @property
    def id(self) -> str:
        """The public id (never the token or its digest)."""
        return self.public_id

    def seen(self, now: datetime) -> SessionRecord:
        return replace(self, last_seen_at=now)


class SessionStore(Protocol):
    async def put(self, digest: str, record: SessionRecord, ttl_seconds: int) -> None: ...
    async def get(self, digest: str) -> SessionRecord | None: ...
    async def delete(self, digest: str) -> None: ...
    async def for_user(self, user_id: uuid.UUID) -> dict[str, SessionRecord]:
        """Live sessions of a user, by digest."""
        ...


class MemorySessionStore:
    """In-process store for the embedded default (one process, nothing shared)."""

    def __init__(self) -> None:
        self._sessions: dict[str, tuple[float, SessionRecord]] = {}

    async def put(self, digest: str, record: SessionRecord, ttl_seconds: int) -> None:
        self._sessions[digest] = (time.monotonic() + ttl_seconds, record)

    async def get(self, digest: str) -> SessionRecord | None:
        entry = self._sessions.get(digest)
        if entry is None:
            return None
        if entry[0] <= time.monotonic():
            self._sessions.pop(digest, None)
            return None
        return entry[1]

    async def delete(self, digest: str) -> None:
        self._sessions.pop(digest, None)

    async def for_user(self, user_id: uuid.UUID) -> dict[str, SessionRecord]:
        found = {}
        for digest in list(self._sessions):
            record = await self.get(digest)
            if record is not None and record.user_id == user_id:
                found[digest] = record
        return found


class RedisSessionStore:
    """Sessions shared by every process: a JSON value per digest (expiring at the
    absolute lifetime) plus a per-user set of digests for listing and revocation."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix

    def _key(self, digest: str) -> str:
        return f"{self._prefix}:session:{digest}"

    def _user_key(self, user_id: uuid.UUID) -> str:
        return f"{self._prefix}:user-sessions:{user_id}"

    async def put(self, digest: str, record: SessionRecord, ttl_seconds: int) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._key(digest), record.to_json(), ex=max(ttl_seconds, 1))
            pipe.sadd(self._user_key(record.user_id), digest)
            await pipe.execute()

    async def get(self, digest: str) -> SessionRecord | None:
        value = await self._redis.get(self._key(digest))
        return SessionRecord.from_json(value) if value is not None else None

    async def delete(self, digest: str) -> None:
        value = await self._redis.getdel(self._key(digest))
        if value is not None:
            record = SessionRecord.from_json(value)
            await self._redis.srem(self._user_key(record.user_id), digest)

    async def for_user(self, user_id: uuid.UUID) -> dict[str, SessionRecord]:
        digests = sorted(
            item.decode() if isinstance(item, bytes) else str(item)
            for item in await self._redis.smembers(self._user_key(user_id))
        )
        if not digests:
            return {}
        values = await self._redis.mget([self._key(digest) for digest in digests])
        found: dict[str, SessionRecord] = {}
        stale = []
        for digest, value in zip(digests, values, strict=True):
            if value is None:
                stale.append(digest)
            else:
                found[digest] = SessionRecord.from_json(value)
        if stale:
            await self._redis.srem(self._user_key(user_id), *stale)
        return found


def utcnow() -> datetime:
    return datetime.now(UTC)
