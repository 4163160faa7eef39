"""The authorisation matrix, generated from the policy table.

For every object type in the table, every audience (role, partner scope, a user who
must still enrol MFA, nobody), every relation the audience can stand in to such an
object, and every field: the API answers full (the raw value), masked (exactly
``mask(raw, strategy)``) or denied (null and a FORBIDDEN error at the field's path)
exactly as ``policy.access_for`` reads the table. Objects with relations come from the
subject fixtures (world.py), those without from the payload makers (payloads.py). Root
fields are checked the same way through the product schema.
"""

from __future__ import annotations

from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    get_named_type,
    get_operation_ast,
    is_required_argument,
    is_required_input_field,
    parse,
)

from accounts.services.identity import Identity
from permissions.enforcement import PolicyView, statically_denied_fields
from permissions.policy import (
    POLICY,
    SUBJECT_RELATIONS,
    Audience,
    Level,
    Relation,
    Subject,
    access_for,
    audiences_of,
)
from schema.context import RequestContext
from tests.graphql_client import execute
from tests.permissions.answers import check_answer, selection, snake
from tests.permissions.payloads import PAYLOADS
from tests.permissions.probe import PRODUCT_SCHEMA, probe
from tests.permissions.world import POSSIBLE, make_target, make_viewer, possible

pytestmark = pytest.mark.usefixtures("db")

_PROBE_FIELD = {
    Subject.USER: "user",
    Subject.ORGANISATION: "organisation",
    Subject.TICKET: "ticket",
    Subject.COMMENT: "comment",
    Subject.OWNED: "session",
}
_ROOTS = {"Query", "Mutation"}
# Types whose objects carry no relation, reached through the probe (add new ones here).
_REACH = {
    "TicketConnection": "{ probe: connection(id: $id) { %s } }",
    "TicketEdge": "{ probe: connection(id: $id) { edges { %s } } }",
    "PageInfo": "{ probe: connection(id: $id) { pageInfo { %s } } }",
}


def _object_cases() -> list[Any]:
    cases = []
    for type_name, type_policy in sorted(POLICY.items()):
        if type_policy.subject not in _PROBE_FIELD:
            continue
        relations = sorted(SUBJECT_RELATIONS[type_policy.subject] | {Relation.ANY})
        for audience in Audience:
            for relation in relations:
                if possible(audience, type_policy.subject, frozenset({relation})):
                    cases.append(
                        pytest.param(
                            type_name, audience, relation, id=f"{type_name}-{audience}-{relation}"
                        )
                    )
    return cases


@pytest.mark.parametrize(("type_name", "audience", "relation"), _object_cases())
async def test_object_field_answers_as_the_table_says(
    type_name: str, audience: Audience, relation: Relation, identity: Identity
) -> None:
    type_policy = POLICY[type_name]
    viewer = await make_viewer(audience)
    target = await make_target(type_policy.subject, relation, viewer, identity)
    record = target.record
    probe_field = _PROBE_FIELD[type_policy.subject]
    variables: dict[str, object] = {"id": str(record.id)}
    head = "$id: ID!"
    arguments = "id: $id"
    if type_policy.subject is Subject.COMMENT:
        variables["ticket"] = str(record.ticket_id)
        head += ", $ticket: ID!"
        arguments += ", ticketId: $ticket"
    if type_policy.subject is Subject.OWNED:
        variables["owner"] = str(record.user_id)
        head += ", $owner: ID!"
        arguments += ", owner: $owner"
    context_values = {"identity": identity, "session_token": target.session_token}
    problems = []
    for field_name, rule in sorted(type_policy.fields.items()):
        expected = access_for(rule, audiences_of(viewer.principal), target.holding)
        selected = selection(type_name, field_name)
        document = f"query({head}) {{ probe: {probe_field}({arguments}) {{ {selected} }} }}"
        context = RequestContext.for_principal(viewer.principal, **context_values)
        result = await probe(document, context, variables)
        holder = (result.data or {}).get("probe")
        value = holder.get(field_name) if holder else None
        attribute = snake(field_name)
        known = attribute in target.values
        problem = check_answer(
            f"{type_name}.{field_name}",
            ["probe", field_name],
            value,
            list(result.errors or []),
            target.values[attribute] if known else getattr(record, attribute, None),
            expected,
            known or (hasattr(record, attribute) and not isinstance(value, (dict, list))),
        )
        if problem:
            problems.append(problem)
    assert not problems, "\n".join(problems)


def test_every_type_in_the_table_is_reached_by_the_api_matrix() -> None:
    unreached = [
        name
        for name, type_policy in sorted(POLICY.items())
        if name not in _ROOTS
        and name not in _REACH
        and name not in PAYLOADS
        and type_policy.subject not in _PROBE_FIELD
    ]
    assert not unreached, (
        f"no API matrix fixture reaches {unreached}: add a probe path to _REACH "
        "(tests/permissions/test_policy_matrix.py), a subject fixture (world.py) "
        "or a payload maker (payloads.py)"
    )


@pytest.mark.parametrize("type_name", sorted(PAYLOADS))
@pytest.mark.parametrize("audience", list(Audience))
async def test_payload_field_answers_as_the_table_says(
    type_name: str, audience: Audience, identity: Identity
) -> None:
    viewer = await make_viewer(audience)
    payload = await PAYLOADS[type_name](identity)
    fields = POLICY[type_name].fields
    assert sorted(payload.raw) == sorted(fields), f"{type_name}: payload values are stale"
    problems = []
    for field_name, rule in sorted(fields.items()):
        expected = access_for(rule, audiences_of(viewer.principal), frozenset())
        selected = selection(type_name, field_name)
        document = f"query({payload.head}) {{ probe: {payload.call} {{ {selected} }} }}"
        context = RequestContext.for_principal(viewer.principal, identity=identity)
        result = await probe(document, context, payload.variables)
        holder = (result.data or {}).get("probe")
        value = holder.get(field_name) if holder else None
        problem = check_answer(
            f"{type_name}.{field_name}",
            ["probe", field_name],
            value,
            list(result.errors or []),
            payload.raw[field_name],
            expected,
            True,
        )
        if problem:
            problems.append(problem)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("type_name", sorted(_REACH))
@pytest.mark.parametrize("audience", list(Audience))
async def test_structural_field_answers_as_the_table_says(
    type_name: str, audience: Audience
) -> None:
    viewer = await make_viewer(audience)
    target = await make_target(Subject.TICKET, Relation.ANY, viewer)
    paths = _REACH
    problems = []
    for field_name, rule in sorted(POLICY[type_name].fields.items()):
        expected = access_for(rule, audiences_of(viewer.principal), frozenset())
        document = "query($id: ID!) " + paths[type_name] % selection(type_name, field_name)
        result = await probe(
            document, RequestContext.for_principal(viewer.principal), {"id": str(target.record.id)}
        )
        forbidden = [
            e
            for e in result.errors or []
            if e.extensions.get("code") == "FORBIDDEN" and e.path and e.path[-1] == field_name
        ]
        if (expected.level is Level.DENIED) != bool(forbidden):
            problems.append(f"{type_name}.{field_name}: expected {expected}, got {result}")
    assert not problems, "\n".join(problems)


def _value_for(graphql_type: Any) -> Any:
    if isinstance(graphql_type, GraphQLNonNull):
        return _value_for(graphql_type.of_type)
    if isinstance(graphql_type, GraphQLList):
        return [_value_for(graphql_type.of_type)]
    if isinstance(graphql_type, GraphQLEnumType):
        return next(iter(graphql_type.values))
    if isinstance(graphql_type, GraphQLInputObjectType):
        return {
            name: _value_for(field.type)
            for name, field in graphql_type.fields.items()
            if is_required_input_field(field)
        }
    return {
        "ID": "00000000-0000-4000-8000-000000000000",
        "String": "x",
        "Int": 1,
        "Boolean": False,
        "Float": 1.0,
    }.get(graphql_type.name, "x")


def _root_cases() -> list[Any]:
    schema = PRODUCT_SCHEMA._schema
    cases = []
    for root, graphql_type in (("Query", schema.query_type), ("Mutation", schema.mutation_type)):
        assert graphql_type is not None
        for field_name in sorted(graphql_type.fields):
            for audience in Audience:
                cases.append(
                    pytest.param(root, field_name, audience, id=f"{root}.{field_name}-{audience}")
                )
    return cases


@pytest.mark.parametrize(("root", "field_name", "audience"), _root_cases())
async def test_root_field_answers_as_the_table_says(
    root: str, field_name: str, audience: Audience
) -> None:
    schema = PRODUCT_SCHEMA._schema
    graphql_type = schema.query_type if root == "Query" else schema.mutation_type
    assert graphql_type is not None
    field = graphql_type.fields[field_name]
    required = {name: arg for name, arg in field.args.items() if is_required_argument(arg)}
    head = ", ".join(f"${name}: {arg.type}" for name, arg in required.items())
    arguments = ", ".join(f"{name}: ${name}" for name in required)
    call = f"{field_name}({arguments})" if arguments else field_name
    document = f"{root.lower()}{f'({head})' if head else ''} {{ {call}"
    named = get_named_type(field.type)
    document += " { __typename } }" if isinstance(named, GraphQLObjectType) else " }"
    variables = {name: _value_for(arg.type) for name, arg in required.items()}
    viewer = await make_viewer(audience)
    rule = POLICY.get(root, None)
    expected = access_for(
        rule.fields.get(field_name, {}) if rule else {}, audiences_of(viewer.principal), frozenset()
    )

    result = await execute(document, viewer.principal, variables)

    codes = [e.extensions.get("code") for e in result.errors or []]
    if expected.level is Level.DENIED and "FORBIDDEN" not in codes:
        # An earlier guard refused the request before execution (nothing ran, no data):
        # the policy's own pre-execution walk must still refuse the field.
        assert result.data is None, result
        view = PolicyView(viewer.principal)
        parsed = parse(document)
        operation = get_operation_ast(parsed)
        assert operation is not None
        denied = statically_denied_fields(schema, parsed, operation, view)
        assert [node.name.value for node in denied] == [field_name], result
    elif expected.level is Level.DENIED:
        if root == "Mutation":  # refused before execution: nothing ran
            assert result.data is None, result
    else:
        assert "FORBIDDEN" not in codes, result


def test_every_table_grant_can_be_used_by_someone() -> None:
    dead = [
        f"{type_name}.{field_name}: {audience} {relation}"
        for type_name, type_policy in POLICY.items()
        for field_name, rule in type_policy.fields.items()
        for audience, grants in rule.items()
        for relation in grants
        if relation not in POSSIBLE[audience]
    ]
    assert not dead, dead
