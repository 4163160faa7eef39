"""Identity services over this run's real stores (memory, or Redis when configured)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from redis.asyncio import Redis

from accounts.mailer import MemoryMailer
from accounts.services.credentials import hash_new_password
from accounts.services.identity import Identity
from accounts.totp import new_secret
from api.identity_setup import build_identity
from api.keys import load_app_keyring
from api.settings import Settings
from permissions.roles import Role
from tests.factories import make_user

PASSWORD = "a long passphrase that is fine on its own"


@pytest.fixture
async def identity(settings: Settings, db: object) -> AsyncIterator[Identity]:
    redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
    prefixed = settings.model_copy(
        update={"redis_prefix": f"{settings.redis_prefix}-{secrets.token_hex(4)}"}
    )
    built = build_identity(prefixed, redis, load_app_keyring(settings))
    built.mailer = MemoryMailer()
    yield built
    if redis is not None:
        await redis.aclose()


async def user_with_password(
    identity: Identity, role: Role = Role.customer, *, email: str | None = None
):  # type: ignore[no-untyped-def]
    from accounts.tables import User

    user = await make_user(role, email=email)
    password_hash = await hash_new_password(
        PASSWORD, hasher=identity.hasher, has_mfa=False, user_inputs=(user.email,)
    )
    await User.update({User.password_hash: password_hash}).where(User.id == user.id)
    return user


def unused_secret() -> str:
    return new_secret()


def with_config(identity: Identity, **changes: object) -> Identity:
    identity.config = replace(identity.config, **changes)  # type: ignore[arg-type]
    return identity
