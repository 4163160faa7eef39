"""Contact data is decrypted only when a contact field is resolved, once per request for
all the users on a page, and never for a field the caller may not see."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import accounts.services.contact as contact
from permissions.roles import Role
from tests.factories import make_organisation, make_ticket, make_user, principal_of
from tests.graphql_client import execute

pytestmark = pytest.mark.usefixtures("db")


@pytest.fixture
def key_queries(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many users each data-key query (the first step of any decryption) asked for."""
    calls: list[int] = []
    original: Callable[..., Any] = contact.data_keys_for

    async def counted(user_ids: Any) -> Any:
        calls.append(len(list(user_ids)))
        return await original(user_ids)

    monkeypatch.setattr(contact, "data_keys_for", counted)
    return calls


async def test_me_without_contact_fields_opens_no_key(key_queries: list[int]) -> None:
    user = await make_user(Role.customer, await make_organisation())

    key_queries.clear()  # creating the user sealed its contact data
    result = await execute("{ me { id displayName role contactVisibility } }", principal_of(user))

    assert result.errors is None
    assert result.data["me"]["displayName"] == user.display_name
    assert key_queries == []


async def test_asking_for_contact_data_opens_it(key_queries: list[int]) -> None:
    user = await make_user(Role.customer, await make_organisation(), email="lazy@example.com")

    key_queries.clear()
    result = await execute("{ me { email phone } }", principal_of(user))

    assert result.errors is None
    assert result.data["me"] == {"email": "lazy@example.com", "phone": None}
    assert key_queries == [1]  # email and phone of one user: one query


async def test_a_page_of_requesters_opens_all_their_keys_in_one_query(
    key_queries: list[int],
) -> None:
    organisation = await make_organisation()
    admin = await make_user(Role.admin)
    requesters = [
        await make_user(Role.customer, organisation, email=f"r{n}@example.com") for n in range(4)
    ]
    for requester in requesters:
        await make_ticket(requester)

    key_queries.clear()
    result = await execute(
        "{ tickets(first: 10) { edges { node { requester { displayName email } } } } }",
        principal_of(admin),
    )

    assert result.errors is None
    emails = [edge["node"]["requester"]["email"] for edge in result.data["tickets"]["edges"]]
    assert len(emails) == 4
    assert all(email.startswith("r") and "•" in email for email in emails)  # admins: masked
    assert key_queries == [4]


async def test_masked_contact_data_is_still_masked(key_queries: list[int]) -> None:
    organisation = await make_organisation()
    colleague = await make_user(Role.customer, organisation, email="colleague@example.com")
    ticket = await make_ticket(colleague)
    reader = await make_user(Role.customer, organisation)

    result = await execute(
        "query($id: ID!) { ticket(id: $id) { requester { email } } }",
        principal_of(reader),
        {"id": str(ticket.id)},
    )

    assert result.errors is None
    shown = result.data["ticket"]["requester"]["email"]
    assert shown != "colleague@example.com"
    assert shown.startswith("c")
    assert "•" in shown
