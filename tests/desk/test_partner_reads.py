"""Partner keys with tickets:read read their organisation's tickets, nothing else."""

from __future__ import annotations

import uuid

import pytest

from desk.services.comments import add_comment
from permissions.principal import Principal
from permissions.roles import Role
from tests.factories import make_organisation, make_ticket, make_user, principal_of
from tests.graphql_client import execute

pytestmark = pytest.mark.usefixtures("db")

TICKETS = """
query { tickets(first: 10) { edges { node {
  subject body requester { displayName } comments(first: 10) { body isInternal }
} } } }
"""


def _partner(organisation_id: uuid.UUID | None, *scopes: str) -> Principal:
    return Principal(
        kind="partner",
        api_key_id=uuid.uuid4(),
        organisation_id=organisation_id,
        scopes=frozenset(scopes),
    )


async def _world():  # type: ignore[no-untyped-def]
    ours, theirs = await make_organisation(), await make_organisation()
    customer = await make_user(Role.customer, ours)
    ticket = await make_ticket(customer, subject="Ours", body="our body")
    await make_ticket(await make_user(Role.customer, theirs), subject="Theirs", body="x")
    agent = await make_user(Role.agent)
    await add_comment(principal_of(agent), ticket.id, body="public reply")
    await add_comment(principal_of(agent), ticket.id, body="internal note", internal=True)
    return ours, customer


async def test_a_tickets_read_key_sees_its_organisation_s_tickets_without_internals() -> None:
    ours, customer = await _world()

    result = await execute(TICKETS, _partner(ours.id, "tickets:read"))

    assert result.errors is None
    nodes = [edge["node"] for edge in result.data["tickets"]["edges"]]
    assert [node["subject"] for node in nodes] == ["Ours"]
    assert nodes[0]["requester"] == {"displayName": customer.display_name}
    assert nodes[0]["comments"] == [{"body": "public reply", "isInternal": False}]


@pytest.mark.parametrize(
    ("with_organisation", "scopes"),
    [(False, ("tickets:read",)), (True, ("users:read",)), (True, ())],
)
async def test_other_keys_see_no_tickets(with_organisation: bool, scopes: tuple[str, ...]) -> None:
    ours, _customer = await _world()

    result = await execute(TICKETS, _partner(ours.id if with_organisation else None, *scopes))

    assert result.data is None or result.data["tickets"]["edges"] == []
