"""PasswordHasher: argon2id, rehash on parameter change, off-loop, bounded concurrency."""

from __future__ import annotations

import asyncio
import threading
import unicodedata
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import argon2
import pytest

from accounts.passwords import HASHING_NICENESS, Argon2Config, PasswordHasher, VerifyResult

FAST = Argon2Config(time_cost=1, memory_cost=64, parallelism=1)
THREAD_WAIT_SECONDS = 30  # a safety net against a hung test, never an assertion


@pytest.fixture
async def hasher() -> AsyncIterator[PasswordHasher]:
    hasher = PasswordHasher(FAST, max_concurrency=2)
    yield hasher
    hasher.close()


def test_default_config_is_rfc9106_second_recommended_option() -> None:
    config = Argon2Config()
    assert (config.time_cost, config.memory_cost, config.parallelism) == (3, 65536, 4)
    assert (config.hash_len, config.salt_len) == (32, 16)


async def test_hash_is_salted_argon2id_in_phc_format(hasher: PasswordHasher) -> None:
    first = await hasher.hash("correct horse battery staple")
    second = await hasher.hash("correct horse battery staple")
    assert first.startswith("$argon2id$v=19$m=64,t=1,p=1$")
    assert first != second


async def test_right_password_verifies_without_rehash(hasher: PasswordHasher) -> None:
    stored = await hasher.hash("correct horse battery staple")
    assert await hasher.verify(stored, "correct horse battery staple") == VerifyResult(True, False)


async def test_wrong_password_is_refused(hasher: PasswordHasher) -> None:
    stored = await hasher.hash("correct horse battery staple")
    assert await hasher.verify(stored, "correct horse battery stapler") == VerifyResult(
        False, False
    )


@pytest.mark.parametrize(
    "stored", ["", "not-a-hash", "$2b$12$abcdefghijklmnopqrstuv", "$argon2id$"]
)
async def test_malformed_stored_hash_fails_closed(hasher: PasswordHasher, stored: str) -> None:
    assert await hasher.verify(stored, "anything at all") == VerifyResult(False, False)


@pytest.mark.parametrize(
    "changed",
    [
        Argon2Config(time_cost=2, memory_cost=64, parallelism=1),
        Argon2Config(time_cost=1, memory_cost=128, parallelism=1),
        Argon2Config(time_cost=1, memory_cost=64, parallelism=2),
        Argon2Config(time_cost=1, memory_cost=64, parallelism=1, hash_len=48),
    ],
)
async def test_rehash_is_flagged_when_parameters_change(
    hasher: PasswordHasher, changed: Argon2Config
) -> None:
    stored = await hasher.hash("correct horse battery staple")
    upgraded = PasswordHasher(changed, max_concurrency=1)
    try:
        result = await upgraded.verify(stored, "correct horse battery staple")
        assert result == VerifyResult(ok=True, needs_rehash=True)
        rehashed = await upgraded.hash("correct horse battery staple")
        assert await upgraded.verify(rehashed, "correct horse battery staple") == VerifyResult(
            True, False
        )
    finally:
        upgraded.close()


async def test_wrong_password_never_asks_for_rehash(hasher: PasswordHasher) -> None:
    stored = await hasher.hash("correct horse battery staple")
    upgraded = PasswordHasher(Argon2Config(time_cost=2, memory_cost=64, parallelism=1))
    try:
        assert await upgraded.verify(stored, "wrong") == VerifyResult(False, False)
    finally:
        upgraded.close()


async def test_composed_and_decomposed_unicode_verify_equal(hasher: PasswordHasher) -> None:
    composed = unicodedata.normalize("NFC", "Crème brûlée für Ångström")
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    stored = await hasher.hash(composed)
    assert (await hasher.verify(stored, decomposed)).ok
    stored = await hasher.hash(decomposed)
    assert (await hasher.verify(stored, composed)).ok


async def test_compatibility_forms_are_normalised(hasher: PasswordHasher) -> None:
    fullwidth = "".join(chr(ord(letter) + 0xFEE0) for letter in "fullwidth")
    stored = await hasher.hash(fullwidth + " \ufb01")  # "\ufb01" is the "fi" ligature
    assert (await hasher.verify(stored, "fullwidth fi")).ok


async def test_verify_dummy_spends_a_real_verify_and_returns_nothing(
    hasher: PasswordHasher, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    original = argon2.PasswordHasher.verify

    def counting_verify(self: argon2.PasswordHasher, hash: str, password: str) -> bool:
        calls.append(hash)
        return original(self, hash, password)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", counting_verify)
    assert await hasher.verify_dummy("some password") is None
    assert await hasher.verify_dummy("another password") is None
    assert len(calls) == 2
    assert calls[0] == calls[1]  # one precomputed dummy hash, made with the current params
    assert calls[0].startswith("$argon2id$v=19$m=64,t=1,p=1$")


async def test_verify_runs_off_the_event_loop(
    hasher: PasswordHasher, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored = await hasher.hash("correct horse battery staple")
    order: list[str] = []
    inside_verify = asyncio.Event()
    release = threading.Event()
    loop = asyncio.get_running_loop()
    threads: list[threading.Thread] = []
    original = argon2.PasswordHasher.verify

    def blocking_verify(self: argon2.PasswordHasher, hash: str, password: str) -> bool:
        threads.append(threading.current_thread())
        order.append("verify started")
        loop.call_soon_threadsafe(inside_verify.set)
        # If verify ran on the loop, the loop could never set `release`: this would time
        # out and the ordering below would fail.
        release.wait(THREAD_WAIT_SECONDS)
        order.append("verify finished")
        return original(self, hash, password)

    async def ticker() -> None:
        await inside_verify.wait()
        order.append("loop ticked while verify ran")
        release.set()

    monkeypatch.setattr(argon2.PasswordHasher, "verify", blocking_verify)
    result, _ = await asyncio.gather(
        hasher.verify(stored, "correct horse battery staple"), ticker()
    )

    assert result.ok
    assert order == ["verify started", "loop ticked while verify ran", "verify finished"]
    assert threads[0] is not threading.main_thread()


async def _measure_max_concurrency(
    hasher: PasswordHasher, monkeypatch: pytest.MonkeyPatch, tasks: int
) -> int:
    lock = threading.Lock()
    running = 0
    peak = 0
    loop = asyncio.get_running_loop()
    entered: asyncio.Queue[None] = asyncio.Queue()
    gates = threading.Semaphore(0)
    original: Callable[..., Any] = argon2.PasswordHasher.hash

    def gated_hash(self: argon2.PasswordHasher, password: str, **kwargs: Any) -> str:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        loop.call_soon_threadsafe(entered.put_nowait, None)
        gates.acquire(timeout=THREAD_WAIT_SECONDS)
        with lock:
            running -= 1
        return str(original(self, password, **kwargs))

    monkeypatch.setattr(argon2.PasswordHasher, "hash", gated_hash)
    work = [asyncio.ensure_future(hasher.hash(f"password number {i}")) for i in range(tasks)]
    # Let the hashes through one at a time; each release lets exactly one more start.
    for _ in range(tasks):
        await entered.get()
        gates.release()
    hashes = await asyncio.gather(*work)
    assert len(set(hashes)) == tasks
    return peak


async def test_semaphore_bounds_concurrent_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    # The executor has room for 8 threads, so only the semaphore can hold the line at 2.
    with ThreadPoolExecutor(max_workers=8) as executor:
        hasher = PasswordHasher(FAST, max_concurrency=2, executor=executor)
        peak = await _measure_max_concurrency(hasher, monkeypatch, tasks=6)
    assert peak == 2


async def test_cancelled_caller_keeps_its_slot_until_the_thread_finishes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started = asyncio.Event()
    release = threading.Event()
    loop = asyncio.get_running_loop()
    original = argon2.PasswordHasher.hash

    def blocking_hash(self: argon2.PasswordHasher, password: str, **kwargs: Any) -> str:
        loop.call_soon_threadsafe(started.set)
        release.wait(THREAD_WAIT_SECONDS)
        return str(original(self, password, **kwargs))

    with ThreadPoolExecutor(max_workers=4) as executor:
        hasher = PasswordHasher(FAST, max_concurrency=1, executor=executor)
        monkeypatch.setattr(argon2.PasswordHasher, "hash", blocking_hash)
        first = asyncio.ensure_future(hasher.hash("first password"))
        await started.wait()
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        # The thread of the cancelled hash still runs (and holds its memory), so the one
        # slot must still be taken: a naive `async with semaphore` would have freed it.
        assert hasher._slots.locked()
        monkeypatch.setattr(argon2.PasswordHasher, "hash", original)
        second = asyncio.ensure_future(hasher.hash("second password"))
        release.set()
        assert (await second).startswith("$argon2id$")
        assert not hasher._slots.locked()


def test_default_concurrency_is_the_usable_cpu_count(monkeypatch: pytest.MonkeyPatch) -> None:
    # The CPUs the process may run on (affinity), not the machine's: a server pinned to
    # one core must not run two 64 MiB hashes at once.
    monkeypatch.setattr("os.sched_getaffinity", lambda _pid: {0, 5, 7})
    monkeypatch.setattr("os.cpu_count", lambda: 64)
    hasher = PasswordHasher(FAST)
    try:
        assert hasher.max_concurrency == 3
    finally:
        hasher.close()


async def test_hashing_threads_run_at_lower_priority() -> None:
    import os
    import threading

    hasher = PasswordHasher(FAST)
    try:
        niceness = await asyncio.wrap_future(
            hasher._executor.submit(
                lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
            )
        )
    finally:
        hasher.close()

    assert niceness == HASHING_NICENESS == 19


def test_weak_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="salt_len"):
        Argon2Config(salt_len=8)
    with pytest.raises(ValueError, match="memory_cost"):
        Argon2Config(memory_cost=16, parallelism=4)


async def test_errors_and_results_never_contain_the_password(hasher: PasswordHasher) -> None:
    secret = "my very secret passphrase 42"
    stored = await hasher.hash(secret)
    assert secret not in stored
    assert secret not in repr(await hasher.verify(stored, secret))
    assert secret not in repr(await hasher.verify("garbage", secret))


async def test_lone_surrogates_fail_without_leaking_the_password(hasher: PasswordHasher) -> None:
    password = "secret part \ud800 of it"
    with pytest.raises(ValueError, match="cannot be encoded") as raised:
        await hasher.hash(password)
    assert raised.value.__context__ is None
    assert password not in str(raised.value)
    stored = await hasher.hash("secret part  of it")
    assert await hasher.verify(stored, password) == VerifyResult(False, False)
