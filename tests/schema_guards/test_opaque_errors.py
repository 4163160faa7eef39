"""A schema-recovery tool learns nothing from production validation errors.

clairvoyance (run against this API: before this rule it rebuilt Query's fields and
User.email, Ticket.subject ...; after it, nothing) tells what exists from how errors
differ. These tests send its kinds of probe in pairs, a real name and a made-up one, to
the served production schema and require the two answers to be identical — messages,
codes and locations — for a stranger, and still detailed for a role that may introspect.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from permissions.principal import ANONYMOUS, Principal, user_principal
from permissions.roles import Role
from schema.build import SchemaConfig, build_schema
from schema.context import RequestContext
from schema.guards.opaque_errors import OPAQUE_MESSAGE

PRODUCTION = build_schema(SchemaConfig(production=True))
CUSTOMER = user_principal(uuid.uuid4(), Role.customer, uuid.uuid4())

# (real, made up): each pair differs only in one name the prober is guessing.
PROBES = [
    pytest.param("{ tickets }", "{ ticketz }", id="root-field-needing-subfields"),
    pytest.param("{ me }", "{ mee }", id="root-field-object"),
    pytest.param("{ me { email { x } } }", "{ me { emale { x } } }", id="scalar-subfield"),
    pytest.param(
        '{ tickets(first: "x") { edges { node { id } } } }',
        '{ tickets(firts: "x") { edges { node { id } } } }',
        id="argument",
    ),
    pytest.param("{ tickets { id } }", "{ tickets(first: 1) { idd } }", id="required-argument"),
    pytest.param(
        "{ ...F } fragment F on Ticket { nope }",
        "{ ...F } fragment F on Tikcet { nope }",
        id="type-in-fragment",
    ),
    pytest.param(
        "query($s: TicketStatus) { __typename }",
        "query($s: TicketStatuz) { __typename }",
        id="type-of-variable",
    ),
    pytest.param(
        "{ tickets(first: 1, status: WRONG) { edges { node { id } } } }",
        "{ tickets(first: 1, statuz: WRONG) { edges { node { id } } } }",
        id="enum-argument",
    ),
    pytest.param("mutation { logout { x } }", "mutation { logoutt { x } }", id="mutation-field"),
]


async def answer(document: str, principal: Principal, variables: Any = None) -> list[Any]:
    context = RequestContext.for_principal(
        principal, introspection_allowed=principal.role in (Role.admin, Role.auditor)
    )
    result = await PRODUCTION.execute(document, variable_values=variables, context_value=context)
    assert result.data is None
    return [error.formatted for error in result.errors or ()]


@pytest.mark.parametrize(("real", "made_up"), PROBES)
@pytest.mark.parametrize("principal", [ANONYMOUS, CUSTOMER], ids=["anonymous", "customer"])
async def test_a_stranger_cannot_tell_a_real_name_from_a_made_up_one(
    real: str, made_up: str, principal: Principal
) -> None:
    real_answer = await answer(real, principal)
    made_up_answer = await answer(made_up, principal)

    assert real_answer == made_up_answer
    assert real_answer == [
        {"message": OPAQUE_MESSAGE, "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}}
    ]


async def test_the_same_document_stays_opaque_when_served_from_the_validation_cache() -> None:
    first = await answer("{ tickets }", ANONYMOUS)
    second = await answer("{ tickets }", ANONYMOUS)

    assert first == second
    assert [error["message"] for error in first] == [OPAQUE_MESSAGE]


async def test_a_role_that_may_introspect_keeps_the_detail_and_does_not_poison_the_cache() -> None:
    admin = user_principal(uuid.uuid4(), Role.admin, None)

    stranger_before = await answer("{ tickets }", ANONYMOUS)
    detailed = await answer("{ tickets }", admin)
    stranger_after = await answer("{ tickets }", ANONYMOUS)

    assert any("TicketConnection" in error["message"] for error in detailed)
    assert all("Did you mean" not in error["message"] for error in detailed)
    assert stranger_before == stranger_after
    assert [error["message"] for error in stranger_after] == [OPAQUE_MESSAGE]


@pytest.mark.parametrize(
    ("variables"),
    [{"input": {"subject": "s", "body": "b", "nope": 1}}, {"input": {"subject": 1}}, {}],
    ids=["unknown-input-field", "wrong-type", "missing"],
)
async def test_variable_errors_name_only_the_variable(variables: dict[str, Any]) -> None:
    document = "mutation($input: CreateTicketInput!) { createTicket(input: $input) { id } }"

    errors = await answer(document, CUSTOMER, variables)

    assert [error["message"] for error in errors] == ["Variable '$input' got an invalid value."]
    assert [error["extensions"]["code"] for error in errors] == ["BAD_USER_INPUT"]


async def test_guard_refusals_keep_their_own_code_and_message() -> None:
    deep = "{ " + "me { " * 12 + "id" + " }" * 13

    errors = await answer(deep, ANONYMOUS)

    assert [error["extensions"]["code"] for error in errors] == ["DEPTH_LIMIT_EXCEEDED"]
