"""Hostile documents through the assembled app: refused with a code, never a 500."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from litestar.testing import AsyncTestClient
from structlog.testing import capture_logs

from api.app import create_app
from api.settings import Settings
from desk.services.tickets import BODY_MAX
from permissions.roles import Role
from schema.guards.verdict import REFUSED_EVENT
from tests.csrf_helpers import with_csrf
from tests.edge_http.conftest import http_client, signed_in

pytestmark = pytest.mark.usefixtures("db")


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    async with AsyncTestClient(app=create_app(settings)) as test_client:
        yield await with_csrf(test_client)


def _aliases(count: int) -> str:
    return "{ " + " ".join(f"a{index}: me {{ id }}" for index in range(count)) + " }"


def _deep(depth: int) -> str:
    inner = "id"
    for _ in range(depth):
        inner = f'ticket(id: "x") {{ requester {{ organisation {{ id }} }} {inner} }}'
    return "{ " + inner + " }"


HOSTILE = [
    (
        "5,000 aliases",
        _aliases(5_000),
        {"TOO_MANY_TOKENS", "DOCUMENT_TOO_LARGE", "TOO_MANY_ALIASES"},
    ),
    (
        "depth 200",
        "{ " + "me { organisation { " * 100 + "id" + " } }" * 100 + " }",
        # graphql-core's parser gives up at its own nesting bound first.
        {"DEPTH_LIMIT_EXCEEDED", "TOO_MANY_TOKENS", "GRAPHQL_PARSE_FAILED"},
    ),
    ("unbalanced braces", "{ me { " * 200, {"GRAPHQL_PARSE_FAILED", "DEPTH_LIMIT_EXCEEDED"}),
    # As big as the body limit lets through: judged by the document-length guard.
    ("500 kB of fields", "{ me { " + "id " * 170_000 + "} }", {"DOCUMENT_TOO_LARGE"}),
    ("500 kB comment", "#" + "x" * 510_000 + "\n{ me { id } }", {"DOCUMENT_TOO_LARGE"}),
    ("16 aliases (valid document)", _aliases(16), {"TOO_MANY_ALIASES"}),
    (
        "5 mutations",
        "mutation { " + " ".join(f"m{n}: logout" for n in range(5)) + " }",
        {"TOO_MANY_MUTATIONS"},
    ),
    (
        "page size over the cap",
        "{ tickets(first: 1000) { edges { node { id } } } }",
        {"BAD_USER_INPUT"},
    ),
    (
        "cost over the budget",
        "{ tickets(first: 100) { edges { node { comments(first: 100) { author { id } } } } } }",
        {"COST_LIMIT_EXCEEDED"},
    ),
]


@pytest.mark.parametrize(("name", "document", "codes"), HOSTILE, ids=[h[0] for h in HOSTILE])
async def test_hostile_document_is_refused_with_a_code(
    client: AsyncTestClient,  # type: ignore[type-arg]
    name: str,
    document: str,
    codes: set[str],
) -> None:
    response = await client.post("/graphql", json={"query": document})

    assert response.status_code in (200, 400), name
    body = response.json()
    assert body.get("data") is None
    assert {error["extensions"]["code"] for error in body["errors"]} <= codes


@pytest.mark.parametrize(
    "document",
    ["{ me { " + "id " * 333_000 + "} }", "#" + "x" * 1_000_000 + "\n{ me { id } }"],
    ids=["1 MB of fields", "1 MB comment"],
)
async def test_a_one_megabyte_document_is_refused_from_its_length_unjudged(
    client: AsyncTestClient,  # type: ignore[type-arg]
    document: str,
) -> None:
    response = await client.post("/graphql", json={"query": document})

    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_the_largest_legitimate_operation_fits_the_body_limit(
    settings: Settings,
) -> None:
    """A 20,000-character ticket body and a 20,000-character document, both written as
    JSON's longest escapes (a client escaping everything outside ASCII), are served."""
    app = create_app(settings)
    mutation = "mutation($input: CreateTicketInput!) { createTicket(input: $input) { id } }"
    astral = "\U0001f600"  # escaped by json.dumps as a surrogate pair: 12 bytes
    document = mutation + " #" + astral * (20_000 - len(mutation) - 2)
    variables = {"input": {"subject": "Full", "body": astral * BODY_MAX}}
    body = json.dumps({"query": document, "variables": variables}).encode()
    # On the test's own event loop (the session is made there: one asyncpg pool, one loop).
    async with http_client(app) as test_client:
        await signed_in(app, test_client, Role.customer)
        await with_csrf(test_client)
        response = await test_client.post(
            "/graphql", content=body, headers={"content-type": "application/json"}
        )

    assert len(document) == 20_000
    assert len(body) > 475_000  # the worst case, not an easy one
    assert response.status_code == 200
    assert response.json().get("errors") is None
    assert response.json()["data"]["createTicket"]["id"]


@pytest.mark.parametrize(("first", "cost"), [(10, 20), (20, 40)])
async def test_cost_is_reported_and_follows_the_page_size_variable(
    client: AsyncTestClient,  # type: ignore[type-arg]
    first: int,
    cost: int,
) -> None:
    response = await client.post(
        "/graphql",
        json={
            "query": "query($n: Int!) { tickets(first: $n) { edges { node { id } } } }",
            "variables": {"n": first},
        },
    )

    # The connection and each node count one per page slot.
    assert response.json()["extensions"]["cost"]["requested"] == cost


async def test_a_document_over_the_token_cap_is_refused_as_such_and_logged(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    # Under the character cap, over the 2,000 tokens (the parser counts comments too).
    document = "{ me { id } }" + "\n#" * 2_000

    with capture_logs() as logs:
        response = await client.post("/graphql", json={"query": document})

    codes = [error["extensions"]["code"] for error in response.json()["errors"]]
    refusals = [log["rule"] for log in logs if log["event"] == REFUSED_EVENT]
    assert codes == ["TOO_MANY_TOKENS"]
    assert refusals == ["TOO_MANY_TOKENS"]
