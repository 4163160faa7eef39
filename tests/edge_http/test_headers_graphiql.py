"""Each security header on the real app's answers, and the GraphiQL page: only for
signed-in admins/auditors with MFA, assets served locally, nonce-based CSP."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from api.app import OpenDeskApp
from permissions.roles import Role
from tests.edge_http.conftest import csrf_token, http_client, signed_in

pytestmark = pytest.mark.usefixtures("db")

ASSETS = Path(__file__).parents[2] / "api" / "static" / "graphiql"
HTML = {"accept": "text/html"}

EXPECTED = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}


def _assert_security_headers(headers) -> None:  # type: ignore[no-untyped-def]
    for name, value in EXPECTED.items():
        assert headers[name] == value, name
    assert "camera=()" in headers["permissions-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "server" not in headers


async def test_json_answers_and_refusals_carry_every_header(
    app: OpenDeskApp,
    client: httpx.AsyncClient,
) -> None:
    await signed_in(app, client)
    token = await csrf_token(client)
    answers = [
        await client.post(
            "/graphql", json={"query": "{ me { id } }"}, headers={"x-csrf-token": token}
        ),
        await client.post("/graphql", json={"query": "{ me { id } }"}),  # 403 CSRF
        await client.get("/healthz", headers={"host": "evil.example"}),  # 400 host
        await client.get("/no-such-page", headers={"x-csrf-token": token}),
    ]

    assert [answer.status_code for answer in answers] == [200, 403, 400, 404]
    for answer in answers:
        _assert_security_headers(answer.headers)
        assert answer.headers["content-security-policy"].startswith("default-src 'none'")


@pytest.mark.parametrize(
    ("role", "mfa", "status"),
    [
        (Role.admin, True, 200),
        (Role.auditor, True, 200),
        (Role.admin, False, 404),
        (Role.agent, False, 404),
        (Role.customer, False, 404),
    ],
)
async def test_graphiql_is_served_only_to_admins_and_auditors_with_mfa(
    app: OpenDeskApp,
    client: httpx.AsyncClient,
    role: Role,
    mfa: bool,
    status: int,
) -> None:
    await signed_in(app, client, role, mfa=mfa)

    response = await client.get("/graphql", headers=HTML)

    assert response.status_code == status


async def test_graphiql_is_not_served_to_anonymous_callers(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.get("/graphql", headers=HTML)).status_code == 404


async def test_graphiql_off_hides_it_from_admins_too(
    make_app: Callable[..., OpenDeskApp],
) -> None:
    app = make_app(graphiql="off")
    async with http_client(app) as client:
        await signed_in(app, client, Role.admin, mfa=True)
        assert (await client.get("/graphql", headers=HTML)).status_code == 404


async def test_graphiql_page_uses_a_fresh_nonce_and_local_assets_only(
    app: OpenDeskApp,
    client: httpx.AsyncClient,
) -> None:
    await signed_in(app, client, Role.admin, mfa=True)

    first = await client.get("/graphql", headers=HTML)
    second = await client.get("/graphql", headers=HTML)

    policy = first.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy)
    assert nonce is not None
    assert first.headers["content-type"].startswith("text/html")
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert "script-src 'nonce-" in policy
    assert "default-src 'none'" in policy
    assert policy != second.headers["content-security-policy"]
    scripts = re.findall(r"<script([^>]*)>", first.text)
    assert scripts
    assert all(f'nonce="{nonce.group(1)}"' in script for script in scripts)
    sources = re.findall(r'(?:src|href)="([^"]+)"', first.text)
    assert sources
    assert all(source.startswith("/static/graphiql/") for source in sources)
    _assert_security_headers(first.headers)


@pytest.mark.parametrize(
    "name",
    [
        "graphiql.min.js",
        "graphiql.min.css",
        "react.production.min.js",
        "react-dom.production.min.js",
    ],
)
async def test_vendored_assets_are_served_as_checked_in(
    client: httpx.AsyncClient,
    name: str,
) -> None:
    sums = dict(reversed(line.split()) for line in (ASSETS / "SHA256SUMS").read_text().splitlines())

    response = await client.get(f"/static/graphiql/{name}")

    assert response.status_code == 200
    assert hashlib.sha256(response.content).hexdigest() == sums[name]
    assert response.headers["x-content-type-options"] == "nosniff"
