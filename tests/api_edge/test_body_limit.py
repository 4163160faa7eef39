from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from api.edge.body_limit import BodyLimitMiddleware
from tests.api_edge.asgi_harness import Recorder, build_litestar_app, call

LIMIT = 100
TOO_LARGE = {
    "errors": [{"message": "Request body too large", "extensions": {"code": "PAYLOAD_TOO_LARGE"}}]
}


async def test_declared_length_over_limit_is_413_without_reading_or_calling_app() -> None:
    recorder = Recorder()
    result = await call(
        BodyLimitMiddleware(recorder, LIMIT),
        method="POST",
        headers=[("content-length", "101")],
        chunks=[b"x" * 101],
    )
    assert result.status == 413
    assert result.json() == TOO_LARGE
    assert result.header("content-type") == "application/json"
    assert result.receive_calls == 0
    assert recorder.calls == 0


async def test_chunked_body_over_limit_stops_reading_and_app_never_sees_it() -> None:
    recorder = Recorder()
    chunks = [b"a" * 40, b"b" * 40, b"c" * 40, b"d" * 40, b""]  # no Content-Length
    result = await call(BodyLimitMiddleware(recorder, LIMIT), method="POST", chunks=chunks)
    assert result.status == 413
    assert result.json() == TOO_LARGE
    assert result.receive_calls == 3  # stopped at the chunk that crossed the limit
    assert recorder.calls == 0


async def test_body_at_limit_reaches_app_unchanged() -> None:
    recorder = Recorder()
    chunks = [b"a" * 50, b"b" * 50, b""]
    result = await call(BodyLimitMiddleware(recorder, LIMIT), method="POST", chunks=chunks)
    assert result.status == 200
    assert recorder.bodies == [b"a" * 50 + b"b" * 50]


async def test_declared_length_within_limit_is_passed_on() -> None:
    recorder = Recorder()
    result = await call(
        BodyLimitMiddleware(recorder, LIMIT),
        method="POST",
        headers=[("content-length", "5")],
        chunks=[b"hello"],
    )
    assert result.status == 200
    assert recorder.bodies == [b"hello"]


@pytest.mark.parametrize(
    "headers",
    [
        [("content-length", "abc")],
        [("content-length", "-1")],
        [("content-length", "+5")],
        [("content-length", "1 2")],
        [("content-length", "")],
        [("content-length", "5, 5")],
        [("content-length", "５")],  # non-ASCII digits  # noqa: RUF001
        [("content-length", "\N{SUPERSCRIPT TWO}")],
        [("content-length", "5"), ("content-length", "5")],
    ],
)
async def test_invalid_content_length_is_400(headers: list[tuple[str, str]]) -> None:
    recorder = Recorder()
    result = await call(BodyLimitMiddleware(recorder, LIMIT), method="POST", headers=headers)
    assert result.status == 400
    assert result.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert recorder.calls == 0


async def test_absurd_content_length_is_413_not_an_error() -> None:
    recorder = Recorder()
    headers = [("content-length", "9" * 5000)]  # int() would refuse this many digits
    result = await call(BodyLimitMiddleware(recorder, LIMIT), method="POST", headers=headers)
    assert result.status == 413


async def test_client_disconnect_mid_body_does_not_call_app() -> None:
    recorder = Recorder()
    middleware = BodyLimitMiddleware(recorder, LIMIT)

    async def receive() -> dict[str, object]:
        return {"type": "http.disconnect"}

    sent: list[object] = []

    async def send(message: object) -> None:
        sent.append(message)

    await middleware({"type": "http", "headers": [], "method": "POST"}, receive, send)
    assert recorder.calls == 0
    assert sent == []


def test_chunked_post_through_litestar_is_413_and_handler_not_run() -> None:
    litestar_app, bodies_seen = build_litestar_app()

    def body() -> object:
        yield b"x" * 60
        yield b"y" * 60

    with TestClient(BodyLimitMiddleware(litestar_app, LIMIT)) as client:
        response = client.post("/graphql", content=body())  # type: ignore[arg-type]
        assert "content-length" not in response.request.headers
        assert response.status_code == 413
        assert response.json() == TOO_LARGE
        ok = client.post("/graphql", content=b"small")
    assert ok.status_code == 200
    assert bodies_seen == [b"small"]


def test_negative_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="max_body_bytes"):
        BodyLimitMiddleware(Recorder(), -1)


DRAINED = "/upload"


def _refuse(declared: int, *, path: str = DRAINED, expect: str | None = None) -> Any:
    headers = [("content-length", str(declared))]
    if expect is not None:
        headers.append(("expect", expect))
    middleware = BodyLimitMiddleware(Recorder(), LIMIT, {DRAINED: LIMIT}, drained_paths=[DRAINED])
    return call(middleware, method="POST", path=path, headers=headers, chunks=[b"x" * declared])


@pytest.mark.parametrize("declared", [LIMIT + 1, 2 * LIMIT])
async def test_a_413_on_a_drained_path_keeps_the_connection_up_to_twice_the_limit(
    declared: int,
) -> None:
    """No ``Connection: close``: the server discards the unread body, and a client still
    sending it reads the 413 instead of a reset."""
    result = await _refuse(declared)
    assert result.status == 413
    assert result.header("connection") is None
    assert result.receive_calls == 0


@pytest.mark.parametrize(
    ("declared", "path", "expect"),
    [
        (2 * LIMIT + 1, DRAINED, None),  # more than twice the limit: not a mistake
        (LIMIT + 1, "/graphql", None),  # no client of that path sends more than its limit
        (LIMIT + 1, DRAINED, "100-continue"),  # no body follows a final answer
        (LIMIT + 1, DRAINED, " 100-Continue "),
    ],
    ids=["over twice the limit", "not a drained path", "expect 100-continue", "expect, spaced"],
)
async def test_other_413s_close_the_connection(
    declared: int, path: str, expect: str | None
) -> None:
    result = await _refuse(declared, path=path, expect=expect)
    assert result.status == 413
    assert result.header("connection") == "close"


async def test_a_chunked_body_over_the_limit_closes_the_connection() -> None:
    """How much more would follow is unknown: nothing is drained."""
    middleware = BodyLimitMiddleware(Recorder(), LIMIT, drained_paths=["/"])
    result = await call(middleware, method="POST", chunks=[b"a" * 80, b"b" * 80, b""])
    assert result.status == 413
    assert result.header("connection") == "close"
