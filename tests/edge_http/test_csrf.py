"""CSRF refusals on the real app: every cookie-carrying request and every unsafe one."""

from __future__ import annotations

import httpx
import pytest

from api.app import OpenDeskApp
from api.edge import csrf_cookie_name
from api.identity import PLAIN_COOKIE
from permissions.roles import Role
from tests.edge_http.conftest import ALLOWED_ORIGIN, csrf_token, signed_in

pytestmark = pytest.mark.usefixtures("db")

ME = {"query": "{ me { id } }"}
CSRF_COOKIE = csrf_cookie_name(tls=False)
LOGIN = {
    "query": 'mutation { login(email: "nobody@example.com", password: "not the password") '
    "{ mfaEnrolmentRequired } }"
}


def _refused(response) -> bool:  # type: ignore[no-untyped-def]
    return (
        response.status_code == 403
        and response.json()["errors"][0]["extensions"]["code"] == "CSRF_FAILED"
    )


async def test_signed_in_post_without_the_token_is_refused(
    app: OpenDeskApp,
    client: httpx.AsyncClient,
) -> None:
    await signed_in(app, client)
    await csrf_token(client)  # the cookie is there; the header is not

    assert _refused(await client.post("/graphql", json=ME))


async def test_signed_in_post_with_the_token_runs(
    app: OpenDeskApp,
    client: httpx.AsyncClient,
) -> None:
    user = await signed_in(app, client)
    token = await csrf_token(client)

    response = await client.post("/graphql", json=ME, headers={"x-csrf-token": token})

    assert response.json()["data"]["me"]["id"] == str(user.id)


async def test_a_wrong_token_is_refused(
    app: OpenDeskApp,
    client: httpx.AsyncClient,
) -> None:
    await signed_in(app, client)
    token = await csrf_token(client)
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")

    assert _refused(await client.post("/graphql", json=ME, headers={"x-csrf-token": forged}))


async def test_a_header_that_differs_from_the_cookie_is_refused(
    app: OpenDeskApp,
    client: httpx.AsyncClient,
) -> None:
    await signed_in(app, client)
    first = await csrf_token(client)
    client.cookies.delete(CSRF_COOKIE)
    second = await csrf_token(client)  # a valid token too, but not the cookie's any more

    assert first != second
    assert _refused(await client.post("/graphql", json=ME, headers={"x-csrf-token": first}))


async def test_a_token_from_another_session_is_refused(
    app: OpenDeskApp,
    client: httpx.AsyncClient,
) -> None:
    await signed_in(app, client)
    victim_session = client.cookies.get(PLAIN_COOKIE)
    await signed_in(app, client)  # the attacker's own session and its valid token
    attacker_token = await csrf_token(client)

    client.cookies.set(PLAIN_COOKIE, victim_session, domain="testserver.local")
    response = await client.post("/graphql", json=ME, headers={"x-csrf-token": attacker_token})

    assert _refused(response)


async def test_a_form_encoded_post_never_reaches_graphql(
    app: OpenDeskApp,
    client: httpx.AsyncClient,
) -> None:
    await signed_in(app, client)
    token = await csrf_token(client)

    response = await client.post(
        "/graphql",
        content=b"query=mutation%7Blogout%7D",
        headers={"content-type": "application/x-www-form-urlencoded", "x-csrf-token": token},
    )

    assert response.status_code == 415


async def test_a_get_query_with_the_session_cookie_needs_the_token(
    app: OpenDeskApp,
    client: httpx.AsyncClient,
) -> None:
    await signed_in(app, client)
    await csrf_token(client)

    assert _refused(await client.get("/graphql", params={"query": "{ me { id } }"}))


async def test_login_needs_the_token_even_without_a_session(
    client: httpx.AsyncClient,
) -> None:
    refused = await client.post("/graphql", json=LOGIN)
    token = await csrf_token(client)
    accepted = await client.post("/graphql", json=LOGIN, headers={"x-csrf-token": token})

    assert _refused(refused)
    assert accepted.status_code == 200
    assert accepted.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_pre_login_token_does_not_survive_a_new_session(
    app: OpenDeskApp,
    client: httpx.AsyncClient,
) -> None:
    anonymous_token = await csrf_token(client)
    await signed_in(app, client)

    response = await client.post("/graphql", json=ME, headers={"x-csrf-token": anonymous_token})

    assert _refused(response)


async def test_logout_answer_reissues_the_token_for_the_anonymous_browser(
    app: OpenDeskApp,
    client: httpx.AsyncClient,
) -> None:
    await signed_in(app, client)
    session_token = await csrf_token(client)

    response = await client.post(
        "/graphql", json={"query": "mutation { logout }"}, headers={"x-csrf-token": session_token}
    )
    reissued = client.cookies.get(CSRF_COOKIE)
    after = await client.post("/graphql", json=LOGIN, headers={"x-csrf-token": reissued})

    assert response.json()["data"] == {"logout": True}
    assert reissued is not None
    assert reissued != session_token
    assert after.status_code == 200  # the reissued token is good for the signed-out browser


async def test_a_foreign_origin_is_refused_even_with_a_valid_token(
    app: OpenDeskApp,
    client: httpx.AsyncClient,
) -> None:
    await signed_in(app, client)
    token = await csrf_token(client)

    foreign = await client.post(
        "/graphql",
        json=ME,
        headers={"x-csrf-token": token, "origin": "https://evil.example"},
    )
    cross_site = await client.post(
        "/graphql",
        json=ME,
        headers={"x-csrf-token": token, "sec-fetch-site": "cross-site"},
    )
    allowlisted = await client.post(
        "/graphql",
        json=ME,
        headers={"x-csrf-token": token, "origin": ALLOWED_ORIGIN, "sec-fetch-site": "cross-site"},
    )
    same_origin = await client.post(
        "/graphql",
        json=ME,
        headers={
            "x-csrf-token": token,
            "origin": "http://testserver.local",
            "sec-fetch-site": "same-origin",
        },
    )

    assert foreign.status_code == 403
    assert cross_site.status_code == 403
    assert allowlisted.status_code == 200
    assert same_origin.status_code == 200


async def test_bearer_requests_are_exempt(
    client: httpx.AsyncClient,
) -> None:
    # No CSRF token: the request reaches authentication, which refuses the bad key (401).
    response = await client.post(
        "/graphql", json=ME, headers={"authorization": "Bearer odk_000000000000_" + "x" * 43}
    )

    assert response.status_code == 401


async def test_the_graphiql_page_load_needs_no_header_but_is_not_for_customers(
    app: OpenDeskApp,
    client: httpx.AsyncClient,
) -> None:
    await signed_in(app, client, Role.customer)

    response = await client.get("/graphql", headers={"accept": "text/html"})

    assert response.status_code == 404
