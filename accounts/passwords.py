"""Password hashing: the one place that turns a password into a stored hash and back.

Every caller that stores or checks a password goes through :class:`PasswordHasher`
(as Django routes everything through ``hashers.make_password`` / ``check_password``).
What callers may rely on:

* hashes are argon2id PHC strings (``$argon2id$v=19$m=…,t=…,p=…$salt$hash``) with a
  fresh random salt each time;
* passwords are NFKC-normalised first, so composed and decomposed forms of the same
  text hash and verify alike;
* the work runs in a thread pool, never on the event loop, and at most
  ``max_concurrency`` hashes run at once (each one holds ``memory_cost`` KiB), so a
  flood of logins queues instead of exhausting memory;
* at most ``max_queue`` callers wait for a slot; one more is refused at once with
  :class:`HashingBusy` (``RATE_LIMITED``, ``retryAfter``), so the wait stays bounded;
* nothing here logs, echoes or stores a password, and errors never contain one.

One instance per event loop: build it at start-up and share it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import threading
import unicodedata
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Final, TypeVar

import argon2
from argon2.exceptions import InvalidHashError, VerificationError

from core.errors import RateLimited

_T = TypeVar("_T")

DEFAULT_MAX_QUEUE: Final = 64
# Seconds a refused caller is told to wait: a queue drains in a few hash times (~0.25 s).
_BUSY_RETRY_AFTER: Final = 1


class HashingBusy(RateLimited):
    """Every hashing slot is taken and ``max_queue`` callers already wait for one."""

    def __init__(self) -> None:
        super().__init__(_BUSY_RETRY_AFTER)


@dataclass(frozen=True, slots=True)
class Argon2Config:
    """argon2id cost parameters.

    Default: RFC 9106 section 4, second recommended option (t=3, m=64 MiB, p=4), for
    when 2 GiB per hash is not affordable. It is above the OWASP minimum (m=19 MiB, t=2,
    p=1) and costs 190-260 ms of one core on the 2-vCPU bench VM (bench/RESULTS.md,
    argon2_cost); with the concurrency bound below
    the memory held by hashing is at most ``max_concurrency * 64 MiB``. 16-byte salts and
    32-byte tags are the RFC's figures. Changing any value makes :meth:`verify` report
    ``needs_rehash`` for hashes made with the old values.
    """

    time_cost: int = 3
    memory_cost: int = 64 * 1024  # KiB
    parallelism: int = 4
    hash_len: int = 32
    salt_len: int = 16

    def __post_init__(self) -> None:
        if self.time_cost < 1 or self.parallelism < 1:
            raise ValueError("time_cost and parallelism must be at least 1")
        if self.memory_cost < 8 * self.parallelism:
            raise ValueError("memory_cost must be at least 8 KiB per lane")
        if self.hash_len < 16 or self.salt_len < 16:
            raise ValueError("hash_len and salt_len must be at least 16 bytes")


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """``ok``: the password matched. ``needs_rehash``: ok, and the hash uses old params."""

    ok: bool
    needs_rehash: bool


_FAILED: Final = VerifyResult(ok=False, needs_rehash=False)


def normalise_password(password: str) -> str:
    """NFKC, the form in which passwords are hashed, checked and measured."""
    return unicodedata.normalize("NFKC", password)


def _encodable(text: str) -> bool:
    # Lone surrogates (valid in JSON "\\ud800" escapes) cannot be UTF-8 encoded; the
    # UnicodeEncodeError argon2 would raise carries the whole password in ``.object``.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class PasswordHasher:
    """argon2id hashing off the event loop, with bounded concurrency and a bounded queue."""

    def __init__(
        self,
        config: Argon2Config | None = None,
        *,
        max_concurrency: int | None = None,
        max_queue: int = DEFAULT_MAX_QUEUE,
        executor: Executor | None = None,
    ) -> None:
        self.config = config or Argon2Config()
        self.max_concurrency = max_concurrency or _usable_cpus()
        if self.max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        if max_queue < 1:
            raise ValueError("max_queue must be at least 1")
        self.max_queue = max_queue
        self._argon2 = argon2.PasswordHasher(
            time_cost=self.config.time_cost,
            memory_cost=self.config.memory_cost,
            parallelism=self.config.parallelism,
            hash_len=self.config.hash_len,
            salt_len=self.config.salt_len,
            type=argon2.Type.ID,
        )
        self._owns_executor = executor is None
        self._executor = executor or ThreadPoolExecutor(
            max_workers=self.max_concurrency,
            thread_name_prefix="argon2",
            initializer=_lower_thread_priority,
        )
        self._slots = asyncio.Semaphore(self.max_concurrency)
        self._waiting = 0  # callers inside ``self._slots.acquire()``
        self._dummy_hash: str | None = None

    async def hash(self, password: str) -> str:
        """A new argon2id PHC string for ``password`` (NFKC-normalised first).

        Raises ``ValueError`` (without the password) if it holds lone surrogates, and
        :class:`HashingBusy` when the queue for a slot is full.
        """
        normalised = normalise_password(password)
        if not _encodable(normalised):
            raise ValueError("password contains characters that cannot be encoded")
        return await self._run(self._argon2.hash, normalised)

    async def verify(self, stored_hash: str, password: str) -> VerifyResult:
        """Check ``password`` against ``stored_hash``; never raises for a wrong password.

        A malformed or non-argon2 ``stored_hash`` fails closed (``ok=False``). When
        ``needs_rehash`` is true the caller should store ``await hash(password)``.
        Raises :class:`HashingBusy` when the queue for a slot is full (nothing was checked).
        """
        normalised = normalise_password(password)
        if not _encodable(normalised):
            return _FAILED  # no stored password can contain a lone surrogate
        return await self._run(self._verify_sync, stored_hash, normalised)

    async def verify_dummy(self, password: str) -> None:
        """Spend the time of one verify, for logins naming an unknown user.

        Always "fails"; it exists so that a missing account and a wrong password take
        the same time and the same slot in the concurrency bound.
        """
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash(secrets.token_urlsafe(32))
        await self.verify(self._dummy_hash, password)

    @property
    def queued(self) -> int:
        """Callers waiting for a slot right now (at most ``max_queue``)."""
        return self._waiting

    def close(self) -> None:
        """Shut down the thread pool if this hasher created it (idempotent)."""
        if self._owns_executor:
            self._executor.shutdown(wait=False, cancel_futures=True)

    def _verify_sync(self, stored_hash: str, normalised: str) -> VerifyResult:
        try:
            self._argon2.verify(stored_hash, normalised)
        except (VerificationError, InvalidHashError):
            # VerifyMismatchError (wrong password) is a VerificationError.
            return _FAILED
        return VerifyResult(ok=True, needs_rehash=self._argon2.check_needs_rehash(stored_hash))

    async def _run(self, function: Callable[..., _T], *args: str) -> _T:
        loop = asyncio.get_running_loop()
        if self._waiting >= self.max_queue:
            raise HashingBusy()
        self._waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1  # also when cancelled while waiting: its place is free again
        try:
            work = self._executor.submit(function, *args)
        except BaseException:
            self._slots.release()
            raise
        # Release the slot when the thread finishes, not when the awaiting task is
        # cancelled: a cancelled login must not let another memory-hungry hash start early.
        work.add_done_callback(lambda _: _release_threadsafe(loop, self._slots))
        return await asyncio.wrap_future(work)


def _usable_cpus() -> int:
    """CPUs this process may run on (affinity-aware, unlike os.cpu_count())."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


# The hashing threads' niceness: the lowest priority there is. Each of argon2's lanes is
# a thread (4 at the default parallelism); at nice 10 the four together took about 30 %
# of a core the event loop needed, and a cheap query's p99 rose 1.7-2.0x while logins
# arrived (bench login_p99, one server core); at 19 (by the scheduler's weights about
# 5 % of a busy core; not measured apart) the p99 rose 1.06-1.31x. A CPU nothing else
# wants still goes to hashing in full (nice only shares a contended core), so logins
# slow down only while the server is saturated, and then the bounded queue answers the
# surplus with HashingBusy. Not SCHED_IDLE: about the same figures, and no guaranteed
# share, so logins could starve.
HASHING_NICENESS: Final = 19


def _lower_thread_priority() -> None:
    """Hashing threads yield the CPU to the event loop: a login flood slows logins, not
    every other request. Linux sets nice per thread (and argon2's lane threads inherit
    it); elsewhere this is a no-op."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICENESS)


def _release_threadsafe(loop: asyncio.AbstractEventLoop, slots: asyncio.Semaphore) -> None:
    # A closed loop raises RuntimeError; nobody is left waiting for a slot then.
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(slots.release)


__all__ = [
    "DEFAULT_MAX_QUEUE",
    "HASHING_NICENESS",
    "Argon2Config",
    "HashingBusy",
    "PasswordHasher",
    "VerifyResult",
    "normalise_password",
]
