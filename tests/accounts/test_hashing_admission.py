"""Admission to password hashing: a bounded queue for the slots, refusals at once beyond it."""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Future
from typing import Any

import argon2
import pytest
from litestar.testing import AsyncTestClient

from accounts.passwords import Argon2Config, HashingBusy, PasswordHasher, VerifyResult
from accounts.recovery_codes import generate_recovery_codes, new_recovery_code_hasher
from api.app import OpenDeskApp, create_app
from api.settings import Settings
from tests.csrf_helpers import with_csrf
from tests.identity.conftest import PASSWORD, user_with_password

FAST = Argon2Config(time_cost=1, memory_cost=64, parallelism=1)
THREAD_WAIT_SECONDS = 30  # a safety net against a hung test, never an assertion

LOGIN = """
mutation($email: String!, $password: String!) {
  login(email: $email, password: $password) { sessionExpiresAt }
}
"""


class HeldVerify:
    """argon2's verify, held in its thread until :meth:`release` (then the real one)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.started = threading.Event()
        self._release = threading.Event()
        original: Callable[..., Any] = argon2.PasswordHasher.verify

        def held(self_: argon2.PasswordHasher, hash: str, password: str) -> bool:
            self.started.set()
            self._release.wait(THREAD_WAIT_SECONDS)
            return bool(original(self_, hash, password))

        monkeypatch.setattr(argon2.PasswordHasher, "verify", held)

    def release(self) -> None:
        self._release.set()


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[HeldVerify]:
    holder = HeldVerify(monkeypatch)
    yield holder
    holder.release()  # never leave a pool thread blocked behind a failed test


async def _until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(THREAD_WAIT_SECONDS):
        while not condition():
            await asyncio.sleep(0.005)


@pytest.fixture
async def hasher() -> AsyncIterator[PasswordHasher]:
    hasher = PasswordHasher(FAST, max_concurrency=1, max_queue=2)
    yield hasher
    hasher.close()


async def test_caller_beyond_the_queue_is_refused_at_once_while_queued_ones_complete(
    hasher: PasswordHasher, held: HeldVerify
) -> None:
    stored = await hasher.hash("correct horse battery staple")
    running = asyncio.ensure_future(hasher.verify(stored, "correct horse battery staple"))
    await _until(held.started.is_set)
    queued = [
        asyncio.ensure_future(hasher.verify(stored, "correct horse battery staple"))
        for _ in range(hasher.max_queue)
    ]
    await _until(lambda: hasher.queued == hasher.max_queue)

    # The one slot is still held: a caller that waited would time out instead.
    with pytest.raises(HashingBusy) as busy:
        await asyncio.wait_for(hasher.verify(stored, "anything"), timeout=1)

    assert busy.value.extensions == {"code": "RATE_LIMITED", "retryAfter": 1}
    held.release()
    results = await asyncio.gather(running, *queued)
    assert results == [VerifyResult(ok=True, needs_rehash=False)] * (hasher.max_queue + 1)
    assert hasher.queued == 0


async def test_cancelled_waiting_caller_frees_its_queue_place(
    hasher: PasswordHasher, held: HeldVerify
) -> None:
    stored = await hasher.hash("correct horse battery staple")
    running = asyncio.ensure_future(hasher.verify(stored, "correct horse battery staple"))
    await _until(held.started.is_set)
    queued = [asyncio.ensure_future(hasher.verify(stored, "wrong")) for _ in range(2)]
    await _until(lambda: hasher.queued == 2)

    queued[0].cancel()
    with pytest.raises(asyncio.CancelledError):
        await queued[0]

    assert hasher.queued == 1
    late = asyncio.ensure_future(hasher.verify(stored, "correct horse battery staple"))
    await _until(lambda: hasher.queued == 2)  # admitted to the queue, not refused
    held.release()
    assert (await running).ok
    assert not (await queued[1]).ok
    assert (await late).ok
    assert hasher.queued == 0


def test_max_queue_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="max_queue"):
        PasswordHasher(FAST, max_concurrency=1, max_queue=0)


async def test_default_queue_admits_a_batch_of_recovery_codes_on_one_slot() -> None:
    hasher = new_recovery_code_hasher(max_concurrency=1)
    try:
        plain, hashed = await generate_recovery_codes(hasher)
    finally:
        hasher.close()
    assert len(plain) == len(hashed) == 10


# Over HTTP: a login while the queue is full.


@pytest.fixture
def busy_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            # Own Redis namespace: per-IP login limits must not carry over between tests.
            "redis_prefix": f"t{secrets.token_hex(6)}",
            "argon2_max_concurrency": 1,
            "argon2_max_queue": 1,
            "lockout_pair_threshold": 2,
        }
    )


@pytest.fixture
async def app(busy_settings: Settings) -> OpenDeskApp:
    return create_app(busy_settings)


@pytest.fixture
async def client(app: OpenDeskApp) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    async with AsyncTestClient(app=app) as test_client:
        yield await with_csrf(test_client)


@pytest.mark.usefixtures("db")
async def test_login_while_the_hashing_queue_is_full_is_rate_limited_and_not_charged(
    app: OpenDeskApp,
    busy_settings: Settings,
    client: AsyncTestClient,  # type: ignore[type-arg]
    held: HeldVerify,
) -> None:
    identity = app.state.resources.identity
    hasher: PasswordHasher = identity.hasher
    user = await user_with_password(identity)
    stored = await hasher.hash("a password only the holders use")
    # Fill the app's one slot and its one queue place, on the app's own event loop.
    portal = client.blocking_portal
    holders: list[Future[VerifyResult]] = [portal.start_task_soon(hasher.verify, stored, "x")]
    await _until(held.started.is_set)
    holders.append(portal.start_task_soon(hasher.verify, stored, "x"))
    await _until(lambda: hasher.queued == 1)

    # More busy refusals than the (account, IP) lockout threshold: none may count.
    for _ in range(busy_settings.lockout_pair_threshold + 1):
        refused = await client.post(
            "/graphql",
            json={"query": LOGIN, "variables": {"email": user.email, "password": PASSWORD}},
        )
        assert refused.status_code == 200, refused.text
        body = refused.json()
        assert body["data"] is None
        assert body["errors"][0]["extensions"] == {"code": "RATE_LIMITED", "retryAfter": 1}
        assert refused.headers["retry-after"] == "1"

    held.release()
    for holder in holders:
        assert not holder.result(THREAD_WAIT_SECONDS).ok
    accepted = await client.post(
        "/graphql",
        json={"query": LOGIN, "variables": {"email": user.email, "password": PASSWORD}},
    )
    assert accepted.json()["data"]["login"]["sessionExpiresAt"], accepted.text
    assert "retry-after" not in accepted.headers
