"""The app served over TLS scores A+ on every Observatory item, JSON and GraphiQL alike."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from accounts.services.authentication import start_session
from api.app import OpenDeskApp
from api.identity import TLS_COOKIE
from api.observatory import Report, scan
from permissions.roles import Role
from tests.factories import make_user

pytestmark = pytest.mark.usefixtures("db")

BASE = "https://testserver.local"


class NothingListens(httpx.AsyncBaseTransport):
    """Plain HTTP as ``opendesk serve --certfile`` deploys it: no port answers it."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)


@pytest.fixture
def tls_app(make_app: Callable[..., OpenDeskApp]) -> OpenDeskApp:
    return make_app(tls=True, cors_allowed_origins=("https://app.example",))


@pytest.fixture
async def client(tls_app: OpenDeskApp) -> AsyncIterator[httpx.AsyncClient]:
    mounts = {
        "https://": httpx.ASGITransport(app=tls_app),  # type: ignore[arg-type]
        "http://": NothingListens(),
    }
    async with httpx.AsyncClient(mounts=mounts) as test_client:
        yield test_client


def _assert_a_plus(report: Report) -> None:
    failed = [finding for finding in report.findings if not finding.passed]
    assert failed == [], "\n".join(report.lines())
    assert report.grade == "A+", "\n".join(report.lines())


@pytest.mark.parametrize("path", ["/graphql", "/healthz", "/csrf", "/no-such-page"])
async def test_every_item_passes_on_api_answers(client: httpx.AsyncClient, path: str) -> None:
    report = await scan(client, BASE + path)

    _assert_a_plus(report)


async def test_every_item_passes_on_the_graphiql_page(
    tls_app: OpenDeskApp, client: httpx.AsyncClient
) -> None:
    identity = tls_app.state.resources.identity
    admin = await make_user(Role.admin)
    session = await start_session(
        identity,
        user_id=admin.id,
        role=Role.admin,
        organisation_id=None,
        mfa_at=identity.now(),
        client_ip="127.0.0.1",
        user_agent="pytest",
    )
    client.cookies.set(TLS_COOKIE, session.token, domain="testserver.local")
    client.headers["accept"] = "text/html"

    report = await scan(client, BASE + "/graphql")

    assert report.status_code == 200
    _assert_a_plus(report)
    results = {finding.test: finding.result for finding in report.findings}
    assert results["subresource-integrity"] != "sri-not-implemented-response-not-html"


async def test_a_plain_http_url_cannot_pass(make_app: Callable[..., OpenDeskApp]) -> None:
    transport = httpx.ASGITransport(app=make_app())  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport) as plain:
        report = await scan(plain, "http://testserver.local/healthz")

    failed = {finding.test for finding in report.findings if not finding.passed}
    # Plain HTTP: no redirect, no HSTS, and the CSRF cookie goes without Secure.
    assert failed == {"redirection", "strict-transport-security", "cookies"}
    assert (report.score, report.grade) == (40, "D+")
