"""Enforcement behaviours the matrix does not show: refusal before execution, batching."""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from desk.tables import Ticket
from permissions.principal import Principal
from permissions.roles import Role
from schema.context import RequestContext
from schema.loaders import Loaders
from tests.factories import make_organisation, make_ticket, make_user, principal_of
from tests.graphql_client import _SCHEMA, execute
from tests.permissions.world import assign, set_phone

pytestmark = pytest.mark.usefixtures("db")


async def test_mutation_selecting_a_never_visible_field_is_refused_and_writes_nothing() -> None:
    alice = await make_user(Role.customer)
    document = 'mutation { createTicket(input: {subject: "s", body: "b"}) { id internalNotes } }'

    result = await execute(document, principal_of(alice))

    assert result.data is None
    assert [e.extensions["code"] for e in result.errors] == ["FORBIDDEN"]
    assert result.errors[0].message == "Not allowed."
    assert await Ticket.count() == 0


async def test_denied_query_field_is_null_with_forbidden_at_its_path_and_siblings_resolve() -> None:
    alice = await make_user(Role.customer)
    ticket = await make_ticket(alice, subject="Visible")
    document = "query($id: ID!) { ticket(id: $id) { subject internalNotes } me { displayName } }"

    result = await execute(document, principal_of(alice), {"id": str(ticket.id)})

    assert result.data == {
        "ticket": {"subject": "Visible", "internalNotes": None},
        "me": {"displayName": alice.display_name},
    }
    assert [(e.path, e.extensions) for e in result.errors] == [
        (["ticket", "internalNotes"], {"code": "FORBIDDEN"})
    ]


async def test_agent_sees_full_contact_of_requesters_assigned_to_it_and_masked_otherwise() -> None:
    organisation = await make_organisation()
    mine = await make_user(Role.customer, organisation, email="mine@example.com")
    other = await make_user(Role.customer, organisation, email="other@example.com")
    await set_phone(other.id, "+44 20 7946 0958")
    agent = await make_user(Role.agent)
    assigned = await make_ticket(mine)
    await make_ticket(other)
    await assign(assigned.id, agent.id)
    document = "{ tickets(first: 10) { edges { node { requester { email phone } } } } }"

    result = await execute(document, principal_of(agent))

    assert result.errors is None
    seen = [edge["node"]["requester"] for edge in result.data["tickets"]["edges"]]
    assert {"email": "mine@example.com", "phone": None} in seen
    assert {
        "email": "o\u2022\u2022\u2022@e\u2022\u2022\u2022.com",
        "phone": "\u2022" * 7 + "58",
    } in seen


def _asking_its_own_queries(principal: Principal) -> RequestContext:
    """A context whose users loader reads no relation facts for this principal (it loads
    for an equal but distinct one), so the field policy asks its own relation query."""
    context = RequestContext.for_principal(principal)
    return dataclasses.replace(context, loaders=Loaders(dataclasses.replace(principal)))


async def test_relation_queries_are_batched_once_per_request_not_per_object() -> None:
    organisation = await make_organisation()
    agent = await make_user(Role.agent)
    for _ in range(12):
        requester = await make_user(Role.customer, organisation)
        ticket = await make_ticket(requester)
        await assign(ticket.id, agent.id)
    context = _asking_its_own_queries(principal_of(agent))
    document = "{ tickets(first: 20) { edges { node { requester { email phone } } } } }"

    result = await _SCHEMA.execute(document, context_value=context)

    assert result.errors is None
    assert len(result.data["tickets"]["edges"]) == 12
    assert context.field_policy.relations.queries == 1


@pytest.mark.parametrize(
    ("document", "queries"),
    [
        ("{ tickets(first: 20) { edges { node { requester { displayName } } } } }", 0),
        ("{ me { id email } }", 0),  # self: no deferred relation needed
        (
            "{ tickets(first: 20) { edges { node { requester { ...Contact } } } } }"
            " fragment Contact on User { displayName email }",
            1,
        ),
        (
            "{ tickets(first: 20) { edges { node { assignee { id } requester"
            " { ... on User { email } } } } } }",
            1,
        ),
    ],
    ids=["no-contact-field", "me", "through-a-fragment", "through-an-inline-fragment"],
)
async def test_deferred_relations_load_only_when_the_selection_needs_them(
    document: str, queries: int
) -> None:
    organisation = await make_organisation()
    agent = await make_user(Role.agent)
    for index in range(3):
        requester = await make_user(Role.customer, organisation)
        ticket = await make_ticket(requester)
        if index == 0:
            await assign(ticket.id, agent.id)
    context = _asking_its_own_queries(principal_of(agent))

    result = await _SCHEMA.execute(document, context_value=context)

    assert result.errors is None
    assert context.field_policy.relations.queries == queries
    if queries:
        emails = [edge["node"]["requester"]["email"] for edge in result.data["tickets"]["edges"]]
        assert sum("\u2022" not in email for email in emails) == 1  # the assigned one only


async def test_partner_with_tickets_read_sees_no_user_contact_data() -> None:
    from permissions.principal import Principal
    from tests.permissions.probe import probe

    alice = await make_user(Role.customer, email="alice@example.com")
    partner = Principal(kind="partner", scopes=frozenset({"tickets:read"}))
    document = "query($id: ID!) { probe: user(id: $id) { displayName email } }"

    result = await probe(document, RequestContext.for_principal(partner), {"id": str(alice.id)})

    assert result.data == {"probe": {"displayName": alice.display_name, "email": None}}
    assert [e.path for e in result.errors] == [["probe", "email"]]


def test_the_assigned_requester_column_names_the_real_tables_and_columns() -> None:
    from accounts.tables import User
    from desk.tables import Ticket
    from permissions.principal import user_principal as principal
    from permissions.relations import ASSIGNED_FLAG, assigned_requester_column

    agent = principal(uuid.uuid4(), Role.agent, None)
    column = assigned_requester_column(agent)

    assert column is not None
    sql = column.template
    assert f'FROM "{Ticket._meta.tablename}"' in sql
    assert f'"{Ticket.requester._meta.db_column_name}" = "{User._meta.tablename}"."id"' in sql
    assert f'"{Ticket.assignee._meta.db_column_name}" = {{}}' in sql
    assert sql.endswith(f'AS "{ASSIGNED_FLAG}"')
    assert column.args == [agent.user_id]
    assert assigned_requester_column(principal(uuid.uuid4(), Role.customer, None)) is None


async def test_staff_relations_come_with_the_users_and_cost_no_query_of_their_own() -> None:
    organisation = await make_organisation()
    agent = await make_user(Role.agent)
    emails = []
    for index in range(4):
        requester = await make_user(Role.customer, organisation, email=f"r{index}@example.com")
        emails.append(requester.email)
        ticket = await make_ticket(requester)
        if index < 2:
            await assign(ticket.id, agent.id)
    context = RequestContext.for_principal(principal_of(agent))
    document = "{ tickets(first: 20) { edges { node { requester { email } } } } }"

    result = await _SCHEMA.execute(document, context_value=context)

    assert result.errors is None
    shown = sorted(edge["node"]["requester"]["email"] for edge in result.data["tickets"]["edges"])
    assert shown[:2] == ["r0@example.com", "r1@example.com"]  # assigned: in full
    assert all("\u2022" in email for email in shown[2:])  # the others: masked
    assert context.field_policy.relations.queries == 0
