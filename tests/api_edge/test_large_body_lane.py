"""The large-body lane: big bodies are served a few at a time, the rest never wait."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from structlog.testing import capture_logs

from api.edge import SecurityHeadersConfig, TrustedProxyConfig, wrap_edge
from api.edge.body_limit import BodyLimitMiddleware
from api.edge.large_body_lane import (
    BODY_BYTES_STATE_KEY,
    BUSY_EVENT,
    LargeBodyLane,
    LargeBodyLaneConfig,
)
from tests.api_edge.asgi_harness import Result, call

THRESHOLD = 1_000
BODY_LIMIT = 10_000


class Gate:
    """An app that holds each request until released, counting how many it holds."""

    def __init__(self) -> None:
        self.inside = 0
        self.most_inside = 0
        self.release = asyncio.Event()
        self.bodies: list[int] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.inside += 1
        self.most_inside = max(self.most_inside, self.inside)
        try:
            size = 0
            while True:
                message = await receive()
                size += len(message.get("body", b""))
                if not message.get("more_body", False):
                    break
            self.bodies.append(size)
            await self.release.wait()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})
        finally:
            self.inside -= 1


def _edge(app: Any, **overrides: Any) -> Any:
    # The duty cycle is off unless a test is about it.
    config = LargeBodyLaneConfig(**{"threshold_bytes": THRESHOLD, "duty_cycle": 1.0, **overrides})
    return BodyLimitMiddleware(LargeBodyLane(app, config), BODY_LIMIT)


def _post(app: Any, size: int, *, declared: bool = True) -> asyncio.Task[Result]:
    headers = [("content-length", str(size))] if declared else []
    # Two chunks: an undeclared (chunked) body is measured as it is read.
    chunks = [b"x" * (size // 2), b"x" * (size - size // 2)]
    return asyncio.create_task(call(app, method="POST", headers=headers, chunks=chunks))


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
async def test_large_bodies_run_at_most_concurrency_at_a_time(declared: bool) -> None:
    gate = Gate()
    app = _edge(gate, concurrency=2, queue=10)

    tasks = [_post(app, THRESHOLD + 1, declared=declared) for _ in range(5)]
    await _settle()
    held = gate.inside
    gate.release.set()
    results = await asyncio.gather(*tasks)

    assert held == 2
    assert gate.most_inside == 2
    assert [result.status for result in results] == [200] * 5
    assert gate.bodies == [THRESHOLD + 1] * 5  # every byte still reaches the app


async def test_small_bodies_and_bodyless_requests_never_wait_for_the_lane() -> None:
    gate = Gate()
    app = _edge(gate, concurrency=1, queue=10)

    large = [_post(app, THRESHOLD + 1) for _ in range(3)]
    small = [_post(app, THRESHOLD) for _ in range(4)]  # at the threshold: not large
    get = asyncio.create_task(call(app, method="GET"))
    await _settle()
    inside = gate.inside
    gate.release.set()
    await asyncio.gather(*large, *small, get)

    assert inside == 1 + 4 + 1  # one large one, every small one, the GET


async def test_past_the_queue_the_answer_is_an_immediate_503_with_retry_after() -> None:
    gate = Gate()
    app = _edge(gate, concurrency=1, queue=2)

    admitted = [_post(app, THRESHOLD + 1) for _ in range(3)]  # 1 running + 2 waiting
    await _settle()
    with capture_logs() as logs:
        refused = await call(
            app,
            method="POST",
            headers=[("content-length", str(THRESHOLD + 1))],
            chunks=[b"x" * (THRESHOLD + 1)],
        )
    gate.release.set()
    results = await asyncio.gather(*admitted)

    assert refused.status == 503
    assert refused.json()["errors"][0]["extensions"] == {"code": "SERVER_BUSY"}
    assert refused.header("retry-after") == "1"
    assert refused.header("connection") is None  # body fully read: keep-alive is fine
    assert [result.status for result in results] == [200] * 3
    (event,) = [log for log in logs if log["event"] == BUSY_EVENT]
    assert (event["body_bytes"], event["waiting"]) == (THRESHOLD + 1, 2)


async def test_a_request_waiting_too_long_is_refused_and_frees_its_place() -> None:
    gate = Gate()
    app = _edge(gate, concurrency=1, queue=1, max_wait_seconds=0.05)

    first = _post(app, THRESHOLD + 1)
    await _settle()
    timed_out = await _post(app, THRESHOLD + 1)  # waits 50 ms for the held slot
    queued_again = _post(app, THRESHOLD + 1)  # the queue place was given back
    await _settle()
    gate.release.set()
    results = await asyncio.gather(first, queued_again)

    assert timed_out.status == 503
    assert [result.status for result in results] == [200, 200]


async def test_a_cancelled_request_gives_back_its_slot() -> None:
    gate = Gate()
    app = _edge(gate, concurrency=1, queue=5)

    running = _post(app, THRESHOLD + 1)
    waiting = _post(app, THRESHOLD + 1)
    await _settle()
    running.cancel()
    await _settle()
    held_after_cancel = gate.inside
    gate.release.set()
    result = await waiting

    assert held_after_cancel == 1  # the waiting one got the slot
    assert result.status == 200


class Timed:
    """An app that takes ``seconds`` per request and records when each ran (loop time)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.spans: list[tuple[float, float]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        loop = asyncio.get_running_loop()
        began = loop.time()
        await asyncio.sleep(self.seconds)
        self.spans.append((began, loop.time()))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


async def test_while_others_are_served_the_slot_rests_after_each_large_request() -> None:
    app = Timed(0.04)
    small_app = Gate()
    # rest = as long as the work
    mixed = _edge(_Router(large=app, small=small_app), duty_cycle=0.5, max_rest_seconds=1.0)
    edge = _edge(app, duty_cycle=0.5, max_rest_seconds=1.0)
    normal = _post(mixed, THRESHOLD)  # a small request in flight all along
    await _settle()
    results = await asyncio.gather(*(_post(mixed, THRESHOLD + 1) for _ in range(3)))
    small_app.release.set()
    await normal
    alone = await asyncio.gather(*(_post(edge, THRESHOLD + 1) for _ in range(2)))

    assert [result.status for result in results + alone] == [200] * 5
    (_, first_end), (second_start, second_end), (third_start, _) = sorted(app.spans)[:3]
    assert second_start - first_end >= 0.9 * 0.04
    assert third_start - second_end >= 0.9 * 0.04
    # Nobody else in flight: no rest between the last two.
    (_, fourth_end), (fifth_start, _) = sorted(app.spans)[3:]
    assert fifth_start - fourth_end < 0.04


async def test_a_lifespan_scope_is_not_counted_as_a_request_to_protect() -> None:
    app = Timed(0.02)
    lifespan_done = asyncio.Event()

    async def lifespan_app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await lifespan_done.wait()  # a lifespan lasts as long as the server
            return
        await app(scope, receive, send)

    config = LargeBodyLaneConfig(threshold_bytes=THRESHOLD, duty_cycle=0.25, max_rest_seconds=1)
    lane = LargeBodyLane(lifespan_app, config)
    lifespan = asyncio.create_task(lane({"type": "lifespan"}, None, None))
    await _settle()
    await asyncio.gather(
        *(_post(BodyLimitMiddleware(lane, BODY_LIMIT), THRESHOLD + 1) for _ in range(2))
    )
    lifespan_done.set()
    await lifespan

    (_, first_end), (second_start, _) = sorted(app.spans)
    assert second_start - first_end < 0.02  # no rest: nobody else was being served


class _Router:
    """Large bodies to one app, the rest to another."""

    def __init__(self, *, large: Any, small: Any) -> None:
        self.large = large
        self.small = small

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        size = scope["state"][BODY_BYTES_STATE_KEY]
        await (self.large if size > THRESHOLD else self.small)(scope, receive, send)


def test_the_rest_follows_the_duty_cycle_up_to_its_cap() -> None:
    config = LargeBodyLaneConfig(duty_cycle=0.25, max_rest_seconds=0.25)

    assert config.rest_after(0.01) == pytest.approx(0.03)
    assert config.rest_after(1.0) == 0.25
    assert LargeBodyLaneConfig(duty_cycle=1.0).rest_after(5.0) == 0


@pytest.mark.parametrize(
    "overrides",
    [
        {"concurrency": 0},
        {"queue": -1},
        {"threshold_bytes": -1},
        {"max_wait_seconds": 0},
        {"duty_cycle": 0},
        {"duty_cycle": 1.5},
        {"max_rest_seconds": -1},
    ],
)
def test_nonsense_settings_are_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="large-body lane"):
        LargeBodyLaneConfig(**overrides)


async def test_what_the_document_checks_refuse_never_waits_for_the_lane() -> None:
    """A large body the document checks refuse from its text is answered while the lane
    is full: hostile documents cannot queue ahead of legitimate large ones."""
    gate = Gate()

    def refuse_hostile(app: Any) -> Any:
        async def checks(scope: Any, receive: Any, send: Any) -> None:
            message = await receive()
            if message.get("body", b"").startswith(b"hostile"):
                await send({"type": "http.response.start", "status": 200, "headers": []})
                await send({"type": "http.response.body", "body": b"refused"})
                return

            async def replay() -> Any:
                return message

            await app(scope, replay, send)

        return checks

    app = wrap_edge(
        gate,
        proxies=TrustedProxyConfig(()),
        security_headers=SecurityHeadersConfig(),
        max_body_bytes=BODY_LIMIT,
        large_body_lane=LargeBodyLaneConfig(
            threshold_bytes=THRESHOLD, concurrency=1, queue=0, duty_cycle=1.0
        ),
        document_checks=refuse_hostile,
    ).app
    size = str(THRESHOLD + 1)
    held = asyncio.create_task(
        call(
            app, method="POST", headers=[("content-length", size)], chunks=[b"x" * (THRESHOLD + 1)]
        )
    )
    await _settle()
    hostile = await call(
        app,
        method="POST",
        headers=[("content-length", size)],
        chunks=[b"hostile" + b"x" * (THRESHOLD - 6)],
    )
    busy = await call(
        app, method="POST", headers=[("content-length", size)], chunks=[b"y" * (THRESHOLD + 1)]
    )
    gate.release.set()

    assert (hostile.status, hostile.body) == (200, b"refused")
    assert busy.status == 503  # the lane itself is full
    assert (await held).status == 200
