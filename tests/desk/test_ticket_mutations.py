"""createTicket, addComment and updateTicketStatus: validation and who may do what."""

from __future__ import annotations

import pytest

from desk.tables import Comment, Ticket
from permissions.principal import ANONYMOUS
from permissions.roles import Role
from tests.factories import make_organisation, make_ticket, make_user, principal_of
from tests.graphql_client import execute

pytestmark = pytest.mark.usefixtures("db")

CREATE = """
mutation($input: CreateTicketInput!) {
  createTicket(input: $input) { id subject body status priority requester { displayName } }
}
"""
COMMENT = """
mutation($input: AddCommentInput!) { addComment(input: $input) { id body isInternal } }
"""
STATUS = """
mutation($id: ID!, $status: TicketStatus!) {
  updateTicketStatus(input: {ticketId: $id, status: $status}) { id status }
}
"""


def _error(result):  # type: ignore[no-untyped-def]
    assert result.errors, result
    return result.errors[0].extensions


async def test_customer_creates_ticket_in_its_own_organisation() -> None:
    alice = await make_user(Role.customer, display_name="Alice")

    result = await execute(
        CREATE,
        principal_of(alice),
        {"input": {"subject": "  Printer on fire ", "body": "Help", "priority": "urgent"}},
    )

    assert result.errors is None
    created = result.data["createTicket"]
    assert created["subject"] == "Printer on fire"
    assert created["status"] == "open"
    assert created["requester"] == {"displayName": "Alice"}
    row = await Ticket.select().where(Ticket.id == created["id"]).first()
    assert row["organisation"] == alice.organisation_id


async def test_customer_cannot_choose_the_organisation() -> None:
    alice = await make_user(Role.customer)
    elsewhere = await make_organisation()

    result = await execute(
        CREATE,
        principal_of(alice),
        {"input": {"subject": "x", "body": "y", "organisationId": str(elsewhere.id)}},
    )

    assert _error(result) == {"code": "BAD_USER_INPUT", "field": "input.organisationId"}
    assert await Ticket.count() == 0


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"subject": "", "body": "ok"}, "input.subject"),
        ({"subject": "   ", "body": "ok"}, "input.subject"),
        ({"subject": "s" * 201, "body": "ok"}, "input.subject"),
        ({"subject": "bell\x07", "body": "ok"}, "input.subject"),
        ({"subject": "rtl \u202e override", "body": "ok"}, "input.subject"),
        ({"subject": "ok", "body": ""}, "input.body"),
        ({"subject": "ok", "body": "b" * 20_001}, "input.body"),
    ],
)
async def test_invalid_ticket_input_names_the_field_and_writes_nothing(
    values: dict[str, str], field: str
) -> None:
    alice = await make_user(Role.customer)

    result = await execute(CREATE, principal_of(alice), {"input": values})

    assert _error(result) == {"code": "BAD_USER_INPUT", "field": field}
    assert await Ticket.count() == 0


async def test_unknown_priority_is_refused_by_validation() -> None:
    alice = await make_user(Role.customer)

    result = await execute(
        CREATE, principal_of(alice), {"input": {"subject": "s", "body": "b", "priority": "asap"}}
    )

    assert result.errors
    assert result.data is None
    assert await Ticket.count() == 0


async def test_anonymous_cannot_create_tickets() -> None:
    result = await execute(CREATE, ANONYMOUS, {"input": {"subject": "s", "body": "b"}})

    assert _error(result)["code"] == "FORBIDDEN"


async def test_staff_must_name_an_existing_organisation() -> None:
    agent = await make_user(Role.agent)
    organisation = await make_organisation()

    missing = await execute(CREATE, principal_of(agent), {"input": {"subject": "s", "body": "b"}})
    unknown = await execute(
        CREATE,
        principal_of(agent),
        {
            "input": {
                "subject": "s",
                "body": "b",
                "organisationId": "00000000-0000-4000-8000-000000000001",
            }
        },
    )
    ok = await execute(
        CREATE,
        principal_of(agent),
        {"input": {"subject": "s", "body": "b", "organisationId": str(organisation.id)}},
    )

    assert _error(missing)["field"] == "input.organisationId"
    assert _error(unknown)["field"] == "input.organisationId"
    assert ok.errors is None


async def test_internal_comments_never_reach_customers() -> None:
    alice = await make_user(Role.customer)
    agent = await make_user(Role.agent)
    ticket = await make_ticket(alice)
    for body, internal in (("public reply", False), ("internal note", True)):
        result = await execute(
            COMMENT,
            principal_of(agent),
            {"input": {"ticketId": str(ticket.id), "body": body, "internal": internal}},
        )
        assert result.errors is None
    query = "query($id: ID!) { ticket(id: $id) { comments(first: 10) { body isInternal } } }"

    as_customer = await execute(query, principal_of(alice), {"id": str(ticket.id)})
    as_agent = await execute(query, principal_of(agent), {"id": str(ticket.id)})

    assert [c["body"] for c in as_customer.data["ticket"]["comments"]] == ["public reply"]
    assert [c["body"] for c in as_agent.data["ticket"]["comments"]] == [
        "public reply",
        "internal note",
    ]


async def test_customer_cannot_write_internal_comments() -> None:
    alice = await make_user(Role.customer)
    ticket = await make_ticket(alice)

    result = await execute(
        COMMENT,
        principal_of(alice),
        {"input": {"ticketId": str(ticket.id), "body": "sneaky", "internal": True}},
    )

    assert _error(result)["code"] == "FORBIDDEN"
    assert await Comment.count() == 0


async def test_commenting_on_an_invisible_ticket_is_not_found() -> None:
    alice = await make_user(Role.customer)
    stranger = await make_user(Role.customer)
    theirs = await make_ticket(stranger)

    result = await execute(
        COMMENT, principal_of(alice), {"input": {"ticketId": str(theirs.id), "body": "hi"}}
    )

    assert _error(result)["code"] == "NOT_FOUND"
    assert await Comment.count() == 0


async def test_customer_may_close_and_reopen_only_its_own_tickets() -> None:
    organisation = await make_organisation()
    alice = await make_user(Role.customer, organisation)
    bob = await make_user(Role.customer, organisation)
    ticket = await make_ticket(alice)

    closed = await execute(STATUS, principal_of(alice), {"id": str(ticket.id), "status": "closed"})
    resolved = await execute(
        STATUS, principal_of(alice), {"id": str(ticket.id), "status": "resolved"}
    )
    by_colleague = await execute(
        STATUS, principal_of(bob), {"id": str(ticket.id), "status": "open"}
    )

    assert closed.data["updateTicketStatus"]["status"] == "closed"
    assert _error(resolved)["code"] == "FORBIDDEN"
    assert _error(by_colleague)["code"] == "FORBIDDEN"


async def test_agent_may_set_any_status() -> None:
    ticket = await make_ticket(await make_user(Role.customer))
    agent = await make_user(Role.agent)

    result = await execute(
        STATUS, principal_of(agent), {"id": str(ticket.id), "status": "resolved"}
    )

    assert result.data["updateTicketStatus"]["status"] == "resolved"


async def test_internal_notes_are_forbidden_to_customers_while_siblings_resolve() -> None:
    alice = await make_user(Role.customer)
    ticket = await make_ticket(alice, subject="Visible")
    query = "query($id: ID!) { ticket(id: $id) { subject internalNotes } }"

    result = await execute(query, principal_of(alice), {"id": str(ticket.id)})

    assert result.data == {"ticket": {"subject": "Visible", "internalNotes": None}}
    assert _error(result)["code"] == "FORBIDDEN"
    assert result.errors[0].path == ["ticket", "internalNotes"]


async def test_colleagues_see_contact_details_masked() -> None:
    organisation = await make_organisation()
    alice = await make_user(Role.customer, organisation, email="alice@example.com")
    bob = await make_user(Role.customer, organisation)
    ticket = await make_ticket(alice)
    query = "query($id: ID!) { ticket(id: $id) { requester { displayName email } } }"

    as_colleague = await execute(query, principal_of(bob), {"id": str(ticket.id)})
    as_self = await execute(query, principal_of(alice), {"id": str(ticket.id)})

    # The field policy masks colleagues' contact data (permissions.policy).
    assert (
        as_colleague.data["ticket"]["requester"]["email"]
        == "a\u2022\u2022\u2022@e\u2022\u2022\u2022.com"
    )
    assert as_colleague.errors is None
    assert as_self.data["ticket"]["requester"]["email"] == "alice@example.com"
