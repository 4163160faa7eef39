"""A user's privacy setting decides whether colleagues see their (masked) contact data;
staff working their tickets are not affected."""

from __future__ import annotations

from dataclasses import replace

import pytest

from accounts.services.users import set_contact_visibility, set_phone
from permissions.roles import Role
from privacy.masking import MaskStrategy, mask
from schema.context import RequestContext
from tests.factories import make_organisation, make_ticket, make_user, principal_of
from tests.graphql_client import execute
from tests.permissions.probe import probe

pytestmark = pytest.mark.usefixtures("db")


async def _user(viewer, user_id):  # type: ignore[no-untyped-def]
    # The test-only root hands out any user; the product's types enforce the policy.
    return await probe(USER, RequestContext.for_principal(viewer), {"id": str(user_id)})


USER = "query($id: ID!) { user(id: $id) { displayName email phone } }"
SET = """
mutation($v: ContactVisibility!) { setContactVisibility(visibility: $v) { contactVisibility } }
"""


async def test_colleagues_see_masked_contact_data_only_while_it_is_shared() -> None:
    organisation = await make_organisation()
    me = await make_user(Role.customer, organisation)
    colleague = await make_user(Role.customer, organisation, email="colleague@example.com")
    await set_phone(colleague.id, "+44 20 7946 0444")
    viewer = principal_of(me)

    shared = await _user(viewer, colleague.id)
    assert shared.errors is None
    assert shared.data["user"]["email"] == mask("colleague@example.com", MaskStrategy.EMAIL)

    await set_contact_visibility(colleague.id, "private")
    private = await _user(viewer, colleague.id)

    assert private.data["user"]["displayName"] == colleague.display_name
    assert private.data["user"]["email"] is None
    assert private.data["user"]["phone"] is None
    assert {e.extensions["code"] for e in private.errors or []} == {"FORBIDDEN"}


async def test_the_assigned_agent_still_sees_a_private_user_s_contact_data() -> None:
    from desk.tables import Ticket

    customer = await make_user(Role.customer, email="private.customer@example.com")
    await set_contact_visibility(customer.id, "private")
    agent = await make_user(Role.agent)
    ticket = await make_ticket(customer)
    await Ticket.update({Ticket.assignee: agent.id}).where(Ticket.id == ticket.id)

    answer = await _user(principal_of(agent), customer.id)

    assert answer.errors is None
    assert answer.data["user"]["email"] == "private.customer@example.com"


async def test_a_user_sets_their_own_visibility_and_bad_values_are_refused() -> None:
    me = await make_user(Role.customer)
    signed_in = replace(principal_of(me), session_id="s1")

    changed = await execute(SET, signed_in, {"v": "private"})
    assert changed.errors is None
    assert changed.data["setContactVisibility"]["contactVisibility"] == "private"

    bad = await execute(SET, signed_in, {"v": "everyone"})
    assert bad.errors
    assert bad.data is None
