"""Documents refused from their text alone, through the assembled app: before the
request is authenticated or routed, with what the route itself would answer."""

from __future__ import annotations

import json

import pytest
from structlog.testing import capture_logs

from api.app import create_app
from api.settings import Settings
from permissions.roles import Role
from schema.guards.verdict import REFUSED_EVENT
from tests.csrf_helpers import with_csrf
from tests.edge_http.conftest import http_client, signed_in

pytestmark = pytest.mark.usefixtures("db")

JSON = {"content-type": "application/json"}
TOO_LONG = "query Long { me { id } }" + " " * 20_000
TOO_DEEP = "query Deep { " + "me { organisation { " * 100 + "id" + " } }" * 100 + " }"


@pytest.mark.parametrize(
    ("query", "answer", "rule"),
    [
        (
            TOO_LONG,
            {
                "message": "Document is longer than 20000 characters.",
                "extensions": {"code": "DOCUMENT_TOO_LARGE", "limit": 20000},
            },
            "DOCUMENT_TOO_LARGE",
        ),
        (
            TOO_DEEP,
            {
                "message": "Document is nested too deeply.",
                "extensions": {"code": "DEPTH_LIMIT_EXCEEDED"},
            },
            "DEPTH_LIMIT_EXCEEDED",
        ),
    ],
    ids=["too long", "too deep"],
)
async def test_a_document_refused_from_its_text_is_answered_before_authentication(
    settings: Settings, query: str, answer: dict[str, object], rule: str
) -> None:
    app = create_app(settings)
    async with http_client(app) as client:
        await signed_in(app, client, Role.agent)
        await with_csrf(client)
        with capture_logs() as logs:
            response = await client.post(
                "/graphql", content=json.dumps({"query": query}), headers=JSON
            )

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-frame-options"] == "DENY"  # still inside the edge
    assert response.json() == {"data": None, "errors": [answer]}
    (event,) = [entry for entry in logs if entry["event"] == REFUSED_EVENT]
    assert event["rule"] == rule
    # The session was never looked at: the refusal names no principal.
    assert event["principal"] == {"kind": None, "id": None}
    assert event["request_id"] == response.headers["x-request-id"]
    assert event["operation_name"] is None  # none was sent (the text's own is not parsed)
    (access,) = [entry for entry in logs if entry["event"] == "http_request"]
    assert access["status"] == 200


async def test_the_same_session_runs_a_document_within_the_limits(settings: Settings) -> None:
    app = create_app(settings)
    async with http_client(app) as client:
        user = await signed_in(app, client, Role.agent)
        await with_csrf(client)
        response = await client.post(
            "/graphql",
            content=json.dumps({"query": "query Me { me { id } }", "operationName": "Me"}),
            headers=JSON,
        )

    assert response.status_code == 200
    assert response.json()["data"] == {"me": {"id": str(user.id)}}


@pytest.mark.parametrize(
    ("body", "status"),
    [
        # A batch: the route's batch check answers (two operations, batching is off).
        (json.dumps([{"query": TOO_LONG}, {"query": TOO_LONG}]), 400),
        (b"{not json", 400),  # the route's own 400
        (json.dumps({"query": 42}), 400),  # not a document: the route's own 400
    ],
    ids=["batch", "not JSON", "query not a string"],
)
async def test_what_the_checks_cannot_judge_goes_on_to_the_route(
    settings: Settings, body: str | bytes, status: int
) -> None:
    app = create_app(settings)
    async with http_client(app) as client:
        await with_csrf(client)
        with capture_logs() as logs:
            response = await client.post("/graphql", content=body, headers=JSON)

    assert response.status_code == status
    refused = [entry["rule"] for entry in logs if entry["event"] == REFUSED_EVENT]
    assert "DOCUMENT_TOO_LARGE" not in refused
