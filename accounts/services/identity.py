"""The identity service bundle: the stores and tools every authentication use case needs.

Built once per process by the HTTP layer (``api/resources.py``) and passed to the use
cases; tests build their own with in-memory stores.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from accounts.counters import CounterStore
from accounts.identity_config import IdentityConfig
from accounts.lockout import LoginThrottle
from accounts.mailer import Mailer
from accounts.passwords import PasswordHasher
from accounts.sessions import SessionStore
from privacy.crypto import Keyring


@dataclass
class Identity:
    config: IdentityConfig
    sessions: SessionStore
    counters: CounterStore
    hasher: PasswordHasher
    recovery_hasher: PasswordHasher
    keyring: Keyring
    mailer: Mailer
    reset_link_base: str = "http://127.0.0.1:8000/reset-password#token="
    throttle: LoginThrottle = field(init=False)

    def __post_init__(self) -> None:
        self.throttle = LoginThrottle(self.counters, self.config.lockout)

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)
