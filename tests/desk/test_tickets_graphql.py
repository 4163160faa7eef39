"""Tickets through the real schema: scoping, pagination, validation, internal data."""

from __future__ import annotations

import pytest

from permissions.principal import ANONYMOUS
from permissions.roles import Role
from tests.factories import make_organisation, make_ticket, make_user, principal_of
from tests.graphql_client import execute

pytestmark = pytest.mark.usefixtures("db")

TICKETS = """
query($first: Int!, $after: String, $status: TicketStatus) {
  tickets(first: $first, after: $after, status: $status) {
    edges { cursor node { id subject status requester { displayName } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def _codes(result) -> list[str]:  # type: ignore[no-untyped-def]
    return [error.extensions["code"] for error in result.errors or []]


async def test_customer_sees_only_its_organisations_tickets() -> None:
    acme, other = await make_organisation("Acme"), await make_organisation("Other")
    alice = await make_user(Role.customer, acme)
    colleague = await make_user(Role.customer, acme)
    stranger = await make_user(Role.customer, other)
    mine = await make_ticket(alice, subject="Mine")
    ours = await make_ticket(colleague, subject="Colleague's")
    await make_ticket(stranger, subject="Theirs")

    result = await execute(TICKETS, principal_of(alice), {"first": 10})

    assert result.errors is None
    ids = {edge["node"]["id"] for edge in result.data["tickets"]["edges"]}
    assert ids == {str(mine.id), str(ours.id)}


async def test_staff_see_every_organisations_tickets() -> None:
    first, second = await make_user(Role.customer), await make_user(Role.customer)
    await make_ticket(first)
    await make_ticket(second)
    agent = await make_user(Role.agent)

    result = await execute(TICKETS, principal_of(agent), {"first": 10})

    assert len(result.data["tickets"]["edges"]) == 2


@pytest.mark.parametrize("role", [Role.auditor])
async def test_auditors_and_anonymous_see_no_tickets(role: Role) -> None:
    await make_ticket(await make_user(Role.customer))
    auditor = await make_user(role)

    for principal in (principal_of(auditor), ANONYMOUS):
        result = await execute(TICKETS, principal, {"first": 10})
        assert result.data["tickets"]["edges"] == []


async def test_ticket_of_another_organisation_is_indistinguishable_from_missing() -> None:
    alice = await make_user(Role.customer)
    stranger = await make_user(Role.customer)
    theirs = await make_ticket(stranger)
    query = "query($id: ID!) { ticket(id: $id) { id subject } }"

    hidden = await execute(query, principal_of(alice), {"id": str(theirs.id)})
    missing = await execute(
        query, principal_of(alice), {"id": "00000000-0000-4000-8000-000000000000"}
    )

    assert hidden.data == missing.data == {"ticket": None}
    assert hidden.errors is None
    assert missing.errors is None


async def test_pagination_walks_every_ticket_once_newest_first() -> None:
    alice = await make_user(Role.customer)
    created = [await make_ticket(alice, subject=f"T{index}") for index in range(7)]
    seen: list[str] = []
    after = None
    while True:
        result = await execute(TICKETS, principal_of(alice), {"first": 3, "after": after})
        connection = result.data["tickets"]
        seen += [edge["node"]["subject"] for edge in connection["edges"]]
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]

    assert seen == [ticket.subject for ticket in reversed(created)]


async def test_each_edge_cursor_resumes_right_after_that_edge() -> None:
    alice = await make_user(Role.customer)
    created = [await make_ticket(alice, subject=f"T{index}") for index in range(4)]
    newest_first = [ticket.subject for ticket in reversed(created)]

    page = (await execute(TICKETS, principal_of(alice), {"first": 3})).data["tickets"]
    after_first = await execute(
        TICKETS, principal_of(alice), {"first": 5, "after": page["edges"][0]["cursor"]}
    )

    assert page["edges"][-1]["cursor"] == page["pageInfo"]["endCursor"]
    assert [edge["node"]["subject"] for edge in after_first.data["tickets"]["edges"]] == (
        newest_first[1:]
    )


async def test_status_filter_returns_only_that_status() -> None:
    alice = await make_user(Role.customer)
    await make_ticket(alice)
    closed = await make_ticket(alice)
    await execute(
        "mutation($id: ID!) { updateTicketStatus(input: {ticketId: $id, status: closed}) { id } }",
        principal_of(alice),
        {"id": str(closed.id)},
    )

    result = await execute(TICKETS, principal_of(alice), {"first": 5, "status": "closed"})

    assert [edge["node"]["id"] for edge in result.data["tickets"]["edges"]] == [str(closed.id)]


@pytest.mark.parametrize("first", [0, -1, 101, 10_000])
async def test_page_size_outside_1_to_100_is_refused(first: int) -> None:
    alice = await make_user(Role.customer)

    result = await execute(TICKETS, principal_of(alice), {"first": first})

    # Refused by the cost guard before any resolver runs, naming the list field.
    assert _codes(result) == ["BAD_USER_INPUT"]
    assert result.errors[0].extensions["field"] == "tickets"


@pytest.mark.parametrize("cursor", ["garbage", "", "eyJ4IjoxfQ", "A" * 500])
async def test_malformed_cursor_is_bad_user_input(cursor: str) -> None:
    alice = await make_user(Role.customer)

    result = await execute(TICKETS, principal_of(alice), {"first": 5, "after": cursor})

    assert _codes(result) == ["BAD_USER_INPUT"]


async def test_malformed_id_is_bad_user_input_not_a_crash() -> None:
    alice = await make_user(Role.customer)

    result = await execute('{ ticket(id: "1 OR 1=1") { id } }', principal_of(alice))

    assert _codes(result) == ["BAD_USER_INPUT"]
    assert result.errors[0].extensions["field"] == "id"
