"""Login throttling that holds across processes without letting strangers lock victims out.

Failures are counted per (account, client IP), per account and per client IP in the
shared counter store, BEFORE the password is checked: an attempt reserves its place, so
parallel attempts from several processes cannot overshoot a threshold by more than the
processes racing on the last slot. The (account, IP) pair locks first; the account as a
whole only at a much higher threshold, so a stranger hammering from one network locks
only itself, and every lock is temporary with a growing wait (Keycloak-style).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from accounts.counters import CounterStore


@dataclass(frozen=True, slots=True)
class LockoutConfig:
    pair_threshold: int = 5
    account_threshold: int = 50
    ip_threshold: int = 100
    window_seconds: int = 15 * 60
    first_wait_seconds: int = 30
    max_wait_seconds: int = 60 * 60
    # How long a lock's level is remembered, so repeat offenders wait longer each time.
    level_memory_seconds: int = 24 * 60 * 60


@dataclass(frozen=True, slots=True)
class LoginAttempt:
    allowed: bool
    retry_after: int = 0


def _pseudonym(value: str) -> str:
    # Counter keys must not carry emails or IPs in clear in the shared store.
    return hashlib.sha256(value.encode()).hexdigest()[:32]


class LoginThrottle:
    def __init__(self, counters: CounterStore, config: LockoutConfig | None = None) -> None:
        self._counters = counters
        self.config = config or LockoutConfig()

    def _scopes(self, account: str, client_ip: str) -> dict[str, tuple[str, int]]:
        account_key, ip_key = _pseudonym(account), _pseudonym(client_ip)
        return {
            "pair": (f"login:pair:{account_key}:{ip_key}", self.config.pair_threshold),
            "account": (f"login:account:{account_key}", self.config.account_threshold),
            "ip": (f"login:ip:{ip_key}", self.config.ip_threshold),
        }

    async def reserve(self, account: str, client_ip: str) -> LoginAttempt:
        """Count an attempt for ``account`` (normalised email, known or not) from
        ``client_ip``; refuse it when any scope is locked or goes over its threshold."""
        scopes = self._scopes(account, client_ip)
        for key, _threshold in scopes.values():
            remaining = await self._counters.locked_for(f"{key}:lock")
            if remaining:
                return LoginAttempt(allowed=False, retry_after=remaining)
        for key, threshold in scopes.values():
            count = await self._counters.incr(key, self.config.window_seconds)
            if count > threshold:
                wait = await self._lock(key)
                return LoginAttempt(allowed=False, retry_after=wait)
        return LoginAttempt(allowed=True)

    async def succeeded(self, account: str, client_ip: str) -> None:
        """A correct login resets the pair's counter and takes its own attempt back from
        the account's and the IP's, so only failures accumulate there (many colleagues
        signing in from one office address never lock it)."""
        scopes = self._scopes(account, client_ip)
        await self._counters.reset(scopes["pair"][0])
        await self._counters.release(scopes["account"][0])
        await self._counters.release(scopes["ip"][0])

    async def withdrawn(self, account: str, client_ip: str) -> None:
        """Take back an allowed attempt that was never judged (the server was too busy to
        check the password): it counts neither as a failure nor as a success."""
        for key, _threshold in self._scopes(account, client_ip).values():
            await self._counters.release(key)

    async def _lock(self, key: str) -> int:
        level = await self._counters.incr(f"{key}:level", self.config.level_memory_seconds)
        wait: int = min(
            self.config.first_wait_seconds * 2 ** (level - 1), self.config.max_wait_seconds
        )
        await self._counters.lock(f"{key}:lock", wait)
        # The count restarts when the lock ends (not now: an attempt racing past the lock
        # check must still find the count over the threshold and be refused).
        await self._counters.expire(key, wait)
        return wait
