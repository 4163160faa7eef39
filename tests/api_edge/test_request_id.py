from __future__ import annotations

import io
import json
import os
import re
from typing import Any

import pytest
import structlog
from litestar.testing import TestClient
from structlog.testing import capture_logs

from api.edge.client_ip import UNKNOWN_CLIENT_IP, ClientIPMiddleware
from api.edge.request_id import (
    REQUEST_ID_STATE_KEY,
    RequestIDMiddleware,
    accept_request_id,
    new_request_id,
)
from tests.api_edge.asgi_harness import Recorder, build_litestar_app, call

GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.mark.parametrize("incoming", ["abcdEFGH", "req-1.2_3-xyz", "a" * 64])
def test_well_formed_incoming_id_is_kept(incoming: str) -> None:
    assert accept_request_id(incoming) == incoming


@pytest.mark.parametrize(
    "incoming",
    [None, "", "short", "a" * 65, "abc def ghi", "abcdefgh\nX: 1", "abcdefgh;", "ñandúñandú"],
)
def test_malformed_incoming_id_is_replaced(incoming: str | None) -> None:
    assert GENERATED.fullmatch(accept_request_id(incoming))


def test_generated_ids_are_unique() -> None:
    assert len({new_request_id() for _ in range(100)}) == 100


async def test_id_in_state_and_response_header() -> None:
    recorder = Recorder()
    result = await call(RequestIDMiddleware(recorder), headers=[("X-Request-ID", "trace-12345678")])
    assert result.header("x-request-id") == "trace-12345678"
    assert recorder.scopes[0]["state"][REQUEST_ID_STATE_KEY] == "trace-12345678"


async def test_bad_incoming_id_is_replaced_in_header() -> None:
    result = await call(RequestIDMiddleware(Recorder()), headers=[("X-Request-ID", "bad id!")])
    assert GENERATED.fullmatch(result.header("x-request-id") or "")


async def test_duplicate_incoming_ids_are_replaced() -> None:
    headers = [("X-Request-ID", "first-1234"), ("X-Request-ID", "second-1234")]
    result = await call(RequestIDMiddleware(Recorder()), headers=headers)
    assert GENERATED.fullmatch(result.header("x-request-id") or "")


async def test_incoming_id_ignored_when_not_trusted() -> None:
    app = RequestIDMiddleware(Recorder(), trust_incoming=False)
    result = await call(app, headers=[("X-Request-ID", "trace-12345678")])
    assert GENERATED.fullmatch(result.header("x-request-id") or "")


async def test_id_is_bound_in_structlog_context_only_during_request() -> None:
    seen: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(structlog.contextvars.get_contextvars().get("request_id"))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    result = await call(RequestIDMiddleware(app))
    assert seen == [result.header("x-request-id")]
    assert "request_id" not in structlog.contextvars.get_contextvars()


def test_access_log_has_fields_but_no_query_cookie_or_headers() -> None:
    litestar_app, _ = build_litestar_app()
    app = RequestIDMiddleware(ClientIPMiddleware(litestar_app))
    with TestClient(app) as client, capture_logs() as logs:
        response = client.get(
            "/ok?token=sekrit-query",
            headers={"Cookie": "session=sekrit-cookie", "Authorization": "Bearer sekrit-key"},
        )
    access = [entry for entry in logs if entry["event"] == "http_request"]
    assert len(access) == 1
    entry = access[0]
    assert entry == {
        "event": "http_request",
        "log_level": "info",
        "method": "GET",
        "path": "/ok",
        "status": 200,
        "duration_ms": entry["duration_ms"],
        "client_ip": str(UNKNOWN_CLIENT_IP),  # the test client's peer is not an IP address
        "request_id": response.headers["x-request-id"],
    }
    assert isinstance(entry["duration_ms"], float)
    assert "sekrit" not in repr(logs)


async def test_access_log_is_one_json_line() -> None:
    output = io.StringIO()
    logger = structlog.wrap_logger(
        structlog.PrintLogger(output),
        processors=[structlog.processors.add_log_level, structlog.processors.JSONRenderer()],
    )
    app = RequestIDMiddleware(Recorder(), logger=logger)
    await call(app, path="/graphql", headers=[("cookie", "sid=sekrit")])
    lines = output.getvalue().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["path"] == "/graphql"
    assert record["status"] == 200
    assert "client_ip" not in record  # no ClientIPMiddleware ran
    assert "sekrit" not in lines[0]


async def test_error_before_response_is_masked_500_with_id_and_logged() -> None:
    async def broken(scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("database password is hunter2")

    with capture_logs() as logs:
        result = await call(RequestIDMiddleware(broken))
    assert result.status == 500
    assert result.json()["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert b"hunter2" not in result.body
    request_id = result.header("x-request-id")
    assert [e["event"] for e in logs] == ["unhandled_error", "http_request"]
    assert all(e["request_id"] == request_id for e in logs)
    assert logs[1]["status"] == 500


async def test_error_after_response_started_is_reraised_and_logged() -> None:
    async def broken(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise RuntimeError("mid-stream")

    with capture_logs() as logs, pytest.raises(RuntimeError, match="mid-stream"):
        await call(RequestIDMiddleware(broken))
    assert logs[-1]["event"] == "http_request"
    assert logs[-1]["status"] == 200


def test_new_ids_stay_unique_across_batches_of_random_bytes() -> None:
    ids = [new_request_id() for _ in range(2_000)]  # 256 ids per 4 KiB read
    assert len(set(ids)) == len(ids)
    assert all(len(request_id) == 32 for request_id in ids)


def test_a_forked_child_does_not_repeat_its_parents_ids() -> None:
    new_request_id()  # the parent holds a batch, most of it unused
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover (the child reports through the pipe)
        os.write(writer, new_request_id().encode())
        os._exit(0)
    os.close(writer)
    os.waitpid(child, 0)
    childs = os.read(reader, 64).decode()
    os.close(reader)
    assert len(childs) == 32
    assert childs != new_request_id()
