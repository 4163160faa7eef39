"""The precheck's refusal made by the server once a body is complete: the edge's own
answer, made only when every layer before the precheck would let the request through
(api.edge.document_refusal)."""

from __future__ import annotations

import json
from functools import partial
from typing import Any

import pytest
from litestar.config.allowed_hosts import AllowedHostsConfig
from structlog.testing import capture_logs

from api.edge import (
    CORSPolicy,
    KeyringCSRFKeys,
    SecurityHeadersConfig,
    TrustedProxyConfig,
    issue_csrf_token,
    wrap_edge,
)
from api.edge.csrf import CSRFConfig
from api.edge.csrf_tokens import session_binding
from api.edge.document_refusal import DOCUMENT_JUDGED_STATE_KEY
from api.edge.stack import Edge
from api.graphql_precheck import GraphQLPrecheckMiddleware
from privacy.crypto import Keyring
from schema.guards.errors import GuardCode
from schema.guards.precheck import DocumentPrecheck
from schema.guards.verdict import REFUSED_EVENT, Limit
from tests.api_edge.asgi_harness import Recorder, call
from tests.api_edge.test_head_refusal import (
    ORIGIN,
    PEER,
    Screen,
    assert_dressed_as_the_edge,
    opaque,
)

LIMIT = 1_000
MAX_CHARS = 200
MAX_NESTING = 5
SESSION_COOKIE = "ods_session"
KEYS = KeyringCSRFKeys(Keyring.generate())
TOKEN = issue_csrf_token(KEYS, session_binding(None))
TOO_LONG = json.dumps({"query": "query Long { me { id } }" + " " * MAX_CHARS}).encode()
TOO_DEEP = json.dumps({"query": "query Deep " + "{ a " * 6 + "}" * 6}).encode()
FINE = json.dumps({"query": "query Fine { me { id } }"}).encode()


def _edge(screen: Screen | None = None, app: Any = None, **options: Any) -> Edge:
    precheck = DocumentPrecheck(
        length=Limit(GuardCode.DOCUMENT_TOO_LARGE, MAX_CHARS), max_nesting=MAX_NESTING
    )
    return wrap_edge(
        app or Recorder(),
        proxies=TrustedProxyConfig(("10.0.0.0/8",)),
        security_headers=SecurityHeadersConfig(hsts=True),
        max_body_bytes=LIMIT,
        allowed_hosts=AllowedHostsConfig(allowed_hosts=["api.example"]),
        cors=CORSPolicy(allowed_origins=frozenset({ORIGIN})),
        csrf=CSRFConfig(
            keys=KEYS, session_cookie=SESSION_COOKIE, allowed_origins=frozenset({ORIGIN})
        ),
        after_client_ip=[screen or Screen()],
        document_checks=partial(GraphQLPrecheckMiddleware, precheck=precheck),
        **options,
    )


def _headers(body: bytes, **extra: str) -> list[tuple[str, str]]:
    headers = {
        "host": "api.example",
        "content-type": "application/json",
        "content-length": str(len(body)),
        "x-forwarded-for": "198.51.100.9",
        "cookie": f"opendesk_csrf={TOKEN}",
        "x-csrf-token": TOKEN,
        **extra,
    }
    return [(name, value) for name, value in headers.items() if value]


def _scope(body: bytes, *, method: str = "POST", path: str = "/graphql", **extra: str) -> Any:
    return {
        "type": "http",
        "method": method,
        "scheme": "http",
        "path": path,
        "query_string": b"",
        "headers": [(k.encode(), v.encode()) for k, v in _headers(body, **extra)],
        "client": (PEER, 5000),
    }


@pytest.mark.parametrize("origin", [None, ORIGIN])
@pytest.mark.parametrize("body", [TOO_LONG, TOO_DEEP], ids=["too long", "too deep"])
async def test_the_answer_is_the_edges_own(body: bytes, origin: str | None) -> None:
    edge = _edge()
    assert edge.document_refusal is not None
    extra = {"origin": origin} if origin else {}
    scope = _scope(body, **extra)
    assert edge.document_refusal.may_refuse(scope)

    answer = edge.document_refusal.answer(scope, body)
    made_by_the_edge = await call(
        edge.app,
        method="POST",
        path="/graphql",
        headers=_headers(body, **extra),
        chunks=[body],
        client=(PEER, 5000),
    )

    assert answer is not None
    status, headers, content = answer
    assert made_by_the_edge.status == status == 200
    assert content == made_by_the_edge.body
    assert json.loads(content)["data"] is None
    assert_dressed_as_the_edge(headers, made_by_the_edge.headers, origin)


async def test_the_refusal_event_and_the_access_line_carry_the_request_id() -> None:
    edge = _edge()
    assert edge.document_refusal is not None
    scope = _scope(TOO_DEEP, **{"x-request-id": "caller-chosen-id-2"})
    with capture_logs() as logs:
        answer = edge.document_refusal.answer(scope, TOO_DEEP)

    assert answer is not None
    assert dict(answer[1])[b"x-request-id"] == b"caller-chosen-id-2"
    (event,) = [log for log in logs if log["event"] == REFUSED_EVENT]
    assert event["rule"] == "DEPTH_LIMIT_EXCEEDED"
    assert event["request_id"] == "caller-chosen-id-2"
    assert event["principal"] == {"kind": None, "id": None}
    (line,) = [log for log in logs if log["event"] == "http_request"]
    assert (line["status"], line["method"], line["path"]) == (200, "POST", "/graphql")
    assert line["client_ip"] == "198.51.100.9"  # resolved through the trusted proxy
    assert line["request_id"] == "caller-chosen-id-2"


@pytest.mark.parametrize(
    ("body", "extra"),
    [
        (FINE, {}),  # the precheck lets it through: the route judges it
        (b"[" + TOO_DEEP + b"]", {}),  # a batch: the route judges each operation
        (json.dumps({"id": "x"}).encode(), {}),  # no text
        (b"not json", {}),  # the route's 400
        (TOO_DEEP, {"host": "other.example"}),  # the edge's 400
        (TOO_DEEP, {"content-type": "text/plain"}),  # the edge's 415
        (TOO_DEEP, {"x-csrf-token": ""}),  # the edge's 403: no token header
        (TOO_DEEP, {"x-csrf-token": "forged"}),  # the edge's 403: header ≠ cookie
        (TOO_DEEP, {"origin": "https://evil.example"}),  # the edge's 403: foreign origin
        (TOO_DEEP, {"cookie": "", "x-csrf-token": "", "authorization": "Bearer k"}),
        # ^ CSRF-exempt, but the edge would add a fresh CSRF cookie to its answer
        (TOO_DEEP, {"content-length": str(LIMIT + 1)}),  # the head refusal's (or edge's) 413
    ],
    ids=[
        "fine",
        "batch",
        "no text",
        "not json",
        "host",
        "content type",
        "no token",
        "forged token",
        "foreign origin",
        "cookie issued",
        "over limit",
    ],
)
def test_what_the_precheck_or_an_earlier_layer_answers_is_left_to_the_edge(
    body: bytes, extra: dict[str, str]
) -> None:
    edge = _edge()
    assert edge.document_refusal is not None
    with capture_logs() as logs:
        assert edge.document_refusal.answer(_scope(body, **extra), body) is None
    assert logs == []


def test_a_body_longer_than_the_limit_is_left_to_the_edge() -> None:
    """The length actually received counts, not only the declared one."""
    edge = _edge()
    assert edge.document_refusal is not None
    body = json.dumps({"query": "{" * (LIMIT + 10)}).encode()
    with capture_logs() as logs:
        assert edge.document_refusal.answer(_scope(TOO_DEEP), body) is None
    assert logs == []


def test_a_blocked_address_is_left_to_the_edge_which_answers_403() -> None:
    screen = Screen(blocked={"198.51.100.9"})
    edge = _edge(screen)
    assert edge.document_refusal is not None

    assert edge.document_refusal.answer(_scope(TOO_DEEP), TOO_DEEP) is None
    assert [str(address) for address in screen.asked] == ["198.51.100.9"]
    other = _scope(TOO_DEEP, **{"x-forwarded-for": "198.51.100.10"})
    assert edge.document_refusal.answer(other, TOO_DEEP) is not None


@pytest.mark.parametrize(
    ("method", "path", "extra", "held"),
    [
        ("POST", "/graphql", {}, True),
        ("POST", "/graphql/", {}, True),  # the route, as the router matches it
        ("GET", "/graphql", {}, False),
        ("POST", "/other", {}, False),
        ("POST", "/graphql", {"content-length": str(LIMIT + 1)}, False),
        ("POST", "/graphql", {"content-length": "12x"}, False),
        ("POST", "/graphql", {"content-length": ""}, True),  # none declared: no body
        ("POST", "/graphql", {"content-length": "", "transfer-encoding": "chunked"}, True),
        ("POST", "/graphql", {"expect": "100-continue"}, False),
    ],
)
def test_only_posts_to_the_route_within_the_limit_and_without_expect_are_held(
    method: str, path: str, extra: dict[str, str], held: bool
) -> None:
    edge = _edge()
    assert edge.document_refusal is not None
    scope = _scope(TOO_DEEP, method=method, path=path, **extra)
    assert edge.document_refusal.may_refuse(scope) is held


def test_without_document_checks_or_head_screening_there_is_no_document_refusal() -> None:
    plain = wrap_edge(
        Recorder(),
        proxies=TrustedProxyConfig(()),
        security_headers=SecurityHeadersConfig(),
        max_body_bytes=LIMIT,
    )
    assert plain.head_refusal is not None
    assert plain.document_refusal is None
    unscreened = wrap_edge(
        Recorder(),
        proxies=TrustedProxyConfig(()),
        security_headers=SecurityHeadersConfig(),
        max_body_bytes=LIMIT,
        after_client_ip=[opaque],
        document_checks=partial(
            GraphQLPrecheckMiddleware, precheck=DocumentPrecheck(length=None, max_nesting=5)
        ),
    )
    assert unscreened.document_refusal is None


async def test_a_body_judged_by_the_server_is_not_judged_again_by_the_edge() -> None:
    """What the precheck lets through is marked in the request's state, and the edge's
    document layer then hands that body on unread; nothing else is marked."""
    edge = _edge()
    assert edge.document_refusal is not None
    judged, refused_earlier = _scope(FINE), _scope(TOO_DEEP, **{"x-csrf-token": "forged"})

    assert edge.document_refusal.answer(judged, FINE) is None
    assert edge.document_refusal.answer(refused_earlier, TOO_DEEP) is None
    assert judged["state"] == {DOCUMENT_JUDGED_STATE_KEY: True}
    assert DOCUMENT_JUDGED_STATE_KEY not in refused_earlier.get("state", {})

    recorder = Recorder()
    layer = GraphQLPrecheckMiddleware(recorder, DocumentPrecheck(length=None, max_nesting=1))
    unmarked = await call(layer, method="POST", path="/graphql", chunks=[TOO_DEEP])
    assert unmarked.json()["errors"][0]["extensions"]["code"] == "DEPTH_LIMIT_EXCEEDED"
    assert recorder.calls == 0

    marked = _Marked(layer)
    await call(marked, method="POST", path="/graphql", chunks=[TOO_DEEP])
    assert recorder.bodies == [TOO_DEEP]


class _Marked:
    """Marks every request's body as judged by the server, then calls ``app``."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        scope.setdefault("state", {})[DOCUMENT_JUDGED_STATE_KEY] = True
        await self.app(scope, receive, send)
