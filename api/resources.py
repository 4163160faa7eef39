"""Connections the app opens at start-up and closes at shutdown."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from redis.asyncio import Redis

from accounts.services.identity import Identity
from api.database import bind_engine, engine_from_url
from api.identity_setup import build_identity
from api.keys import install_app_keyring
from api.pool_reset import keep_session
from api.settings import Settings
from desk.attachments import AttachmentStore, load_scanner
from desk.services.attachments import AttachmentPolicy
from privacy.crypto import Keyring


@dataclass(slots=True)
class Resources:
    engine: Engine  # type: ignore[type-arg]
    redis: Redis | None
    keyring: Keyring
    identity: Identity
    pool_size: int = 10
    # Uploads' store, scanner and limits (api/attachments.py); tests swap the scanner.
    attachments: AttachmentPolicy | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Resources:
        """Raises KeyringError when the keys are unusable: nothing starts without them."""
        engine = engine_from_url(
            settings.database_url, timeout_seconds=settings.database_timeout_seconds
        )
        redis = (
            Redis.from_url(
                settings.redis_url,
                socket_timeout=2.0,
                socket_connect_timeout=2.0,
                health_check_interval=30,
            )
            if settings.redis_url
            else None
        )
        keyring = install_app_keyring(settings)
        return cls(
            engine=engine,
            redis=redis,
            keyring=keyring,
            identity=build_identity(settings, redis, keyring),
            pool_size=settings.database_pool_size,
            attachments=attachment_policy(settings),
        )

    async def open(self) -> None:
        bind_engine(self.engine)
        if isinstance(self.engine, PostgresEngine) and self.pool_size > 0:
            await self.engine.start_connection_pool(
                min_size=1, max_size=self.pool_size, reset=keep_session
            )

    async def close(self) -> None:
        if isinstance(self.engine, PostgresEngine) and self.engine.pool is not None:
            await self.engine.close_connection_pool()
        if self.redis is not None:
            await self.redis.aclose()


def attachment_policy(settings: Settings) -> AttachmentPolicy:
    """Raises ValueError when the configured scanner cannot be loaded (start-up stops)."""
    return AttachmentPolicy(
        store=AttachmentStore(settings.attachments_dir),
        scanner=load_scanner(settings.attachment_scanner),
        max_bytes=settings.attachment_max_bytes,
        max_per_ticket=settings.attachment_max_per_ticket,
    )


@asynccontextmanager
async def opened_resources(settings: Settings) -> AsyncIterator[Resources]:
    """Resources for one CLI command: opened, and closed whatever happens."""
    resources = Resources.from_settings(settings)
    await resources.open()
    try:
        yield resources
    finally:
        await resources.close()
