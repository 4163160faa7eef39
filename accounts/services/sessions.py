"""A user's own sessions: list them, end one, end all the others."""

from __future__ import annotations

import uuid

from accounts.services.identity import Identity
from accounts.sessions import SessionRecord


async def sessions_of(identity: Identity, user_id: uuid.UUID) -> dict[str, SessionRecord]:
    return await identity.sessions.for_user(user_id)


async def revoke_session(identity: Identity, user_id: uuid.UUID, public_id: str) -> bool:
    """End one of the user's own sessions by its public id; False when there is none."""
    for digest, record in (await identity.sessions.for_user(user_id)).items():
        if record.public_id == public_id:
            await identity.sessions.delete(digest)
            return True
    return False


async def revoke_all_sessions(
    identity: Identity, user_id: uuid.UUID, *, keep_digest: str | None
) -> int:
    """End every session of the user except ``keep_digest``; returns how many ended."""
    ended = 0
    for digest in await identity.sessions.for_user(user_id):
        if digest != keep_digest:
            await identity.sessions.delete(digest)
            ended += 1
    return ended
