"""Builds the identity services from Settings: shared stores in Redis when configured."""

from __future__ import annotations

from redis.asyncio import Redis

from accounts.counters import CounterStore, MemoryCounterStore, RedisCounterStore
from accounts.identity_config import IdentityConfig
from accounts.lockout import LockoutConfig
from accounts.mailer import OutboxDirectoryMailer
from accounts.passwords import Argon2Config, PasswordHasher
from accounts.recovery_codes import new_recovery_code_hasher
from accounts.services.identity import Identity
from accounts.sessions import MemorySessionStore, RedisSessionStore, SessionStore
from api.settings import Settings
from privacy.crypto import Keyring


def identity_config(settings: Settings) -> IdentityConfig:
    return IdentityConfig(
        session_idle_seconds=settings.session_idle_seconds,
        session_lifetime_seconds=settings.session_lifetime_seconds,
        registration_enabled=settings.registration_enabled,
        erasure_grace_days=settings.erasure_grace_days,
        lockout=LockoutConfig(
            pair_threshold=settings.lockout_pair_threshold,
            account_threshold=settings.lockout_account_threshold,
            ip_threshold=settings.lockout_ip_threshold,
            window_seconds=settings.lockout_window_seconds,
            first_wait_seconds=settings.lockout_first_wait_seconds,
            max_wait_seconds=settings.lockout_max_wait_seconds,
        ),
    )


def password_hasher_for(settings: Settings) -> PasswordHasher:
    return PasswordHasher(
        Argon2Config(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
        ),
        max_concurrency=settings.argon2_max_concurrency,
        max_queue=settings.argon2_max_queue,
    )


def build_identity(settings: Settings, redis: Redis | None, keyring: Keyring) -> Identity:
    sessions: SessionStore
    counters: CounterStore
    if redis is not None:
        sessions = RedisSessionStore(redis, settings.redis_prefix)
        counters = RedisCounterStore(redis, settings.redis_prefix)
    else:
        sessions = MemorySessionStore()
        counters = MemoryCounterStore()
    return Identity(
        config=identity_config(settings),
        sessions=sessions,
        counters=counters,
        hasher=password_hasher_for(settings),
        recovery_hasher=new_recovery_code_hasher(),
        keyring=keyring,
        # Development mail lands in var/outbox (0600 files); production plugs in a mailer.
        mailer=OutboxDirectoryMailer(settings.var_dir / "outbox"),
        reset_link_base=settings.password_reset_link_base,
    )
