"""Identity services over this run's real stores, and signed-in sessions built through them.

Sessions live in the session store (memory, or Redis when the run has one), never in the
database: the matrix and the fuzz test reach them through the same ``Identity`` the API
uses. Each ``open_identity`` gets its own Redis key prefix and removes its keys on exit.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from redis.asyncio import Redis

from accounts.mailer import MemoryMailer
from accounts.records import UserRecord
from accounts.services.api_keys import ApiKeyRecord, create_api_key
from accounts.services.authentication import NewSession, start_session
from accounts.services.identity import Identity
from accounts.sessions import SessionRecord
from api.identity import principal_for_session
from api.identity_setup import build_identity
from api.keys import load_app_keyring
from api.settings import Settings
from permissions.principal import Principal


@asynccontextmanager
async def open_identity(settings: Settings) -> AsyncIterator[Identity]:
    redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
    prefix = f"{settings.redis_prefix}-permissions-{secrets.token_hex(4)}"
    built = build_identity(
        settings.model_copy(update={"redis_prefix": prefix}), redis, load_app_keyring(settings)
    )
    built.mailer = MemoryMailer()
    try:
        yield built
    finally:
        if redis is not None:
            keys = [key async for key in redis.scan_iter(match=f"{prefix}:*")]
            if keys:
                await redis.delete(*keys)
            await redis.aclose()


async def sign_in(
    identity: Identity,
    user: UserRecord,
    *,
    with_mfa: bool = True,
    client_ip: str = "198.51.100.23",
    user_agent: str | None = None,
) -> NewSession:
    """A stored session for ``user``; a role that requires MFA gets no role without it."""
    return await start_session(
        identity,
        user_id=user.id,
        role=user.role,
        organisation_id=user.organisation_id,
        mfa_at=identity.now() if with_mfa else None,
        client_ip=client_ip,
        user_agent=user_agent or f"Probe/1.0 (session of {user.display_name})",
    )


def principal_of_session(session: NewSession) -> Principal:
    return principal_for_session(session.record)


async def stored_session(identity: Identity, session: NewSession) -> SessionRecord:
    """The session as the store hands it back (after its JSON round trip in Redis)."""
    for record in (await identity.sessions.for_user(session.record.user_id)).values():
        if record.public_id == session.record.public_id:
            return record
    raise AssertionError(f"session {session.record.public_id} is not in the store")


async def issue_partner_key(
    identity: Identity, scopes: list[str], organisation_id: uuid.UUID | None
) -> tuple[ApiKeyRecord, str]:
    """A partner API key made by a freshly signed-in admin: its record and the secret."""
    from permissions.roles import Role
    from tests.factories import make_user

    admin = principal_of_session(await sign_in(identity, await make_user(Role.admin)))
    return await create_api_key(
        identity,
        admin,
        name="Partner",
        scopes=scopes,
        organisation_id=organisation_id,
        expires_at=identity.now() + timedelta(days=1),
        allowed_networks=[],
    )
