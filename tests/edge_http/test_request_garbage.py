"""What a request loaded is freed when it ends, not left for the cyclic collector.

graphql-core's executor keeps the request context in a reference cycle, so anything the
context still reaches after the answer (the loaders' records and futures) is freed only
by a collector pass, which first walks all of it (api.asgi.prepare_heap_for_serving).
"""

from __future__ import annotations

import gc

import httpx
import pytest

from accounts.records import UserRecord
from api.app import OpenDeskApp
from desk.records import CommentRecord, TicketRecord
from desk.services.comments import add_comment
from permissions.roles import Role
from tests.csrf_helpers import with_csrf
from tests.edge_http.conftest import signed_in
from tests.factories import make_ticket, make_user, principal_of

pytestmark = pytest.mark.usefixtures("db")

TICKETS = (
    "query { tickets(first: 20) { edges { node { subject requester { displayName } "
    "comments(first: 5) { body } } } } }"
)
RECORD_TYPES = (UserRecord, TicketRecord, CommentRecord)


async def test_a_tickets_page_leaves_no_loaded_record_to_the_cyclic_collector(
    app: OpenDeskApp, client: httpx.AsyncClient
) -> None:
    await signed_in(app, client, Role.agent)
    customer = await make_user(Role.customer)
    for _ in range(3):
        ticket = await make_ticket(customer)
        await add_comment(principal_of(customer), ticket.id, body="It is still broken.")
    await with_csrf(client)
    first = (await client.post("/graphql", json={"query": TICKETS})).json()
    assert "errors" not in first
    assert len(first["data"]["tickets"]["edges"]) == 3

    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)  # what a pass finds unreachable is kept for inspection
    try:
        answers = [(await client.post("/graphql", json={"query": TICKETS})).json() for _ in "ab"]
        gc.collect()
        left = [thing for thing in gc.garbage if isinstance(thing, RECORD_TYPES)]
        cyclic = len(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()

    assert [answer["data"] for answer in answers] == [first["data"], first["data"]]
    assert cyclic > 0  # the executor's own cycle is still there: the check can see garbage
    assert left == []
