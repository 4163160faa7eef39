"""A page of tickets with requesters and comments costs the same few queries at any size."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from desk.tables import Ticket
from permissions.roles import Role
from tests.factories import make_organisation, make_ticket, make_user, principal_of
from tests.graphql_client import execute

pytestmark = pytest.mark.usefixtures("db")

QUERY = """
query($first: Int!) {
  tickets(first: $first) {
    edges { node { requester { displayName } comments(first: 5) { body author { displayName } } } }
  }
}
"""


@contextmanager
def counting_queries(engine: object) -> Iterator[list[str]]:
    """Record every SQL statement the engine runs while the block executes."""
    statements: list[str] = []
    engine_class = type(engine)
    original = engine_class.run_querystring  # type: ignore[attr-defined]

    async def counted(self, querystring, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self is engine:
            statements.append(str(querystring))
        return await original(self, querystring, *args, **kwargs)

    # Engines use __slots__, so the method is wrapped on the class, for this engine only.
    engine_class.run_querystring = counted  # type: ignore[attr-defined]
    try:
        yield statements
    finally:
        engine_class.run_querystring = original  # type: ignore[attr-defined]


async def _seed(tickets: int) -> object:
    organisation = await make_organisation()
    requesters = [await make_user(Role.customer, organisation) for _ in range(5)]
    agent = await make_user(Role.agent)
    from desk.services.comments import add_comment

    for index in range(tickets):
        ticket = await make_ticket(requesters[index % len(requesters)])
        for number in range(2):
            await add_comment(principal_of(agent), ticket.id, body=f"reply {number}")
    return agent


async def test_query_count_does_not_grow_with_page_size() -> None:
    agent = await _seed(tickets=50)
    engine = Ticket._meta.db

    with counting_queries(engine) as small:
        small_result = await execute(QUERY, principal_of(agent), {"first": 2})
    with counting_queries(engine) as large:
        large_result = await execute(QUERY, principal_of(agent), {"first": 50})

    assert small_result.errors is None
    assert large_result.errors is None
    assert len(large_result.data["tickets"]["edges"]) == 50
    assert all(len(e["node"]["comments"]) == 2 for e in large_result.data["tickets"]["edges"])
    # tickets; requesters (users + their data keys); comments; authors (users + keys)
    assert len(large) == len(small) <= 6
