"""``bodyHtml`` over the API: a stored payload comes back inert, as JSON."""

from __future__ import annotations

import httpx
import pytest

from api.app import OpenDeskApp
from desk.services.comments import add_comment
from tests.edge_http.conftest import csrf_token, signed_in
from tests.factories import make_ticket, principal_of

pytestmark = pytest.mark.usefixtures("db")

PAYLOAD = '<img src=x onerror="alert(1)"> <a href="javascript:alert(2)">x</a>'
QUERY = """
query($id: ID!) {
  ticket(id: $id) { body bodyHtml comments(first: 5) { body bodyHtml } }
}
"""


async def test_a_stored_payload_renders_as_escaped_text_in_body_html(
    app: OpenDeskApp, client: httpx.AsyncClient
) -> None:
    requester = await signed_in(app, client)
    ticket = await make_ticket(requester, body=PAYLOAD)
    await add_comment(principal_of(requester), ticket.id, body=PAYLOAD)
    token = await csrf_token(client)

    response = await client.post(
        "/graphql",
        json={"query": QUERY, "variables": {"id": str(ticket.id)}},
        headers={"x-csrf-token": token},
    )

    assert response.headers["content-type"] == "application/json"
    ticket_data = response.json()["data"]["ticket"]
    expected = (
        '<p>&lt;img src=x onerror="alert(1)"&gt; '
        '&lt;a href="javascript:alert(2)"&gt;x&lt;/a&gt;</p>'
    )
    assert ticket_data["body"] == PAYLOAD
    assert ticket_data["bodyHtml"] == expected
    assert ticket_data["comments"] == [{"body": PAYLOAD, "bodyHtml": expected}]
