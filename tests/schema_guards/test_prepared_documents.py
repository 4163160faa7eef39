"""Prepared documents (the persisted operations' fast path) against the real schema.

A prepared document must answer exactly as the same text does on the ordinary path —
data, errors, codes, cost, log events — for every refusal the pipeline makes, while the
parser, graphql-core's validation, the shape measurements and the cost compiler never
run for it.
"""

from __future__ import annotations

import uuid
from typing import Any

import graphql.language.parser
import pytest
import strawberry.schema.schema
from structlog.testing import capture_logs

import schema.guards.cost
import schema.guards.document
import schema.guards.limits
import schema.guards.preparation
from permissions.principal import ANONYMOUS, Principal, user_principal
from permissions.roles import Role
from schema.build import OpenDeskSchema, SchemaConfig, build_schema
from schema.context import RequestContext
from schema.guards.errors import GuardCode
from schema.guards.preparation import PREPARED_RULE_SETS, PreparedDocuments, prepare_document
from schema.guards.verdict import REFUSED_EVENT, SHADOW_EVENT

pytestmark = pytest.mark.usefixtures("db")

CUSTOMER = user_principal(uuid.uuid4(), Role.customer, uuid.uuid4())
ADMIN = user_principal(uuid.uuid4(), Role.admin, uuid.uuid4())
ME = "query Me { me { id role } }"
TICKETS = (
    "query Tickets($n: Int!) { tickets(first: $n) { edges { node { id subject "
    "requester { displayName } comments(first: 5) { body } } } } }"
)
EXPENSIVE = (
    "query Expensive($n: Int!) { tickets(first: $n) { edges { node { "
    "comments(first: $n) { author { displayName } } } } } }"
)
ALIASES_16 = "{ " + " ".join(f"a{index}: __typename" for index in range(16)) + " }"
# 6 tokens and 1,995 comments: the parser counts comments too.
TOKENS_2001 = "{ me { id } }" + "\n#" * 1_995
DIRECTIVES_21 = "{ me { " + " ".join(["id @include(if: true)"] * 21) + " } }"
INTROSPECTION = "{ __schema { queryType { name } } }"
INVALID = "query Broken { me { nope } }"
TWO_LOGINS = (
    'mutation { a: login(email: "a@example.com", password: "x") { __typename } '
    'b: login(email: "b@example.com", password: "x") { __typename } }'
)


def nested(levels: int) -> str:
    """tickets > edges > node, ``levels`` times: 3 levels of depth each."""
    inner = "id"
    for _ in range(levels):
        inner = f"tickets(first: 1) {{ edges {{ node {{ {inner} }} }} }}"
    return "{ " + inner + " }"


def answer(result: Any) -> dict[str, Any]:
    return {
        "data": result.data,
        "errors": [(error.message, error.extensions) for error in result.errors or ()],
        "extensions": result.extensions,
    }


async def run(
    served: OpenDeskSchema,
    document: str,
    principal: Principal = ANONYMOUS,
    variables: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The answer, and the guard events logged as (event, rule)."""
    context = RequestContext.for_principal(
        principal, introspection_allowed=principal.role is Role.admin
    )
    with capture_logs() as logs:
        result = await served.execute(document, variable_values=variables, context_value=context)
    events = [
        (log["event"], log["rule"]) for log in logs if log["event"] in (REFUSED_EVENT, SHADOW_EVENT)
    ]
    return answer(result), events


def _ran(*_args: Any, **_kwargs: Any) -> Any:
    raise AssertionError("a prepared document went through this step")


def block_preparing_steps(monkeypatch: pytest.MonkeyPatch, *, parser: bool = True) -> None:
    """From here on, parsing, validating, measuring or cost-compiling fails the request."""
    if parser:
        monkeypatch.setattr(graphql.language.parser.Parser, "parse_document", _ran)
    monkeypatch.setattr(strawberry.schema.schema, "validate", _ran)
    for name in ("alias_count", "directive_count", "depth", "mutation_count"):
        monkeypatch.setattr(schema.guards.limits, name, _ran)
    # The guards' own cache of measurements by text, filled by the ordinary run: empty,
    # or a measurement served from it would hide a prepared path that was not taken.
    monkeypatch.setattr(schema.guards.limits, "_MEASURED", {})
    monkeypatch.setattr(schema.guards.document, "token_count", _ran)
    monkeypatch.setattr(schema.guards.cost, "compile_plan", _ran)


CASES = [
    pytest.param(ME, CUSTOMER, None, frozenset(), None, id="me"),
    pytest.param(TICKETS, CUSTOMER, {"n": 20}, frozenset(), None, id="tickets-costed"),
    pytest.param(
        TICKETS, CUSTOMER, {"n": 101}, frozenset(), "BAD_USER_INPUT", id="page-size-refused"
    ),
    pytest.param(TICKETS, CUSTOMER, {}, frozenset(), "BAD_USER_INPUT", id="missing-variable"),
    pytest.param(
        EXPENSIVE, CUSTOMER, {"n": 50}, frozenset(), "COST_LIMIT_EXCEEDED", id="cost-refused"
    ),
    pytest.param(ALIASES_16, CUSTOMER, None, frozenset(), "TOO_MANY_ALIASES", id="aliases-refused"),
    pytest.param(ALIASES_16, CUSTOMER, None, frozenset({"aliases"}), None, id="aliases-shadowed"),
    # Refused by the parser itself, stopping at the cap, exactly as its text is.
    pytest.param(
        TOKENS_2001,
        CUSTOMER,
        None,
        frozenset(),
        "TOO_MANY_TOKENS",
        id="tokens-refused-by-the-parser",
    ),
    pytest.param(TOKENS_2001, CUSTOMER, None, frozenset({"tokens"}), None, id="tokens-shadowed"),
    pytest.param(
        DIRECTIVES_21, CUSTOMER, None, frozenset(), "TOO_MANY_DIRECTIVES", id="directives-refused"
    ),
    pytest.param(
        nested(4), CUSTOMER, None, frozenset(), "DEPTH_LIMIT_EXCEEDED", id="depth-refused"
    ),
    # No valid chain in this schema is deeper than 7: shadowed, it goes on to validation.
    pytest.param(
        nested(4),
        CUSTOMER,
        None,
        frozenset({"depth"}),
        "GRAPHQL_VALIDATION_FAILED",
        id="depth-shadowed",
    ),
    pytest.param(
        INTROSPECTION,
        CUSTOMER,
        None,
        frozenset(),
        "INTROSPECTION_DISABLED",
        id="introspection-refused",
    ),
    pytest.param(INTROSPECTION, ADMIN, None, frozenset(), None, id="introspection-allowed"),
    pytest.param(
        INVALID, CUSTOMER, None, frozenset(), "GRAPHQL_VALIDATION_FAILED", id="invalid-opaque"
    ),
    pytest.param(
        INVALID, ADMIN, None, frozenset(), "GRAPHQL_VALIDATION_FAILED", id="invalid-detailed"
    ),
    pytest.param(
        TWO_LOGINS,
        ANONYMOUS,
        None,
        frozenset(),
        "TOO_MANY_AUTHENTICATION_ATTEMPTS",
        id="two-logins-refused",
    ),
]


@pytest.mark.parametrize(("document", "principal", "variables", "shadow", "code"), CASES)
async def test_a_prepared_document_answers_as_its_text_does_without_those_steps(
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    document: str,
    principal: Principal,
    variables: dict[str, Any] | None,
    shadow: frozenset[str],
    code: str | None,
) -> None:
    config = SchemaConfig(production=True, shadow_limits=shadow)
    ordinary, prepared = build_schema(config), build_schema(config)
    prepared.prepared_documents.keep([document])
    expected, expected_events = await run(ordinary, document, principal, variables)
    # Each case reaches the step it is about.
    assert [error[1]["code"] for error in expected["errors"]][:1] == ([code] if code else [])

    block_preparing_steps(monkeypatch, parser="by-the-parser" not in request.node.name)
    # A separate copy of the text: found by value, not only by the stored object.
    got, events = await run(prepared, "".join(document), principal, variables)

    assert got == expected
    assert events == expected_events


async def test_the_blocks_bite_a_text_that_is_not_prepared(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    served = build_schema(SchemaConfig(production=True))
    served.prepared_documents.keep([ME])
    block_preparing_steps(monkeypatch)

    got, _events = await run(served, "query Other { me { id } }", CUSTOMER)

    assert got["data"] is None
    assert got["errors"]


def test_preparation_records_what_each_step_would_have_found() -> None:
    graphql_schema = build_schema(SchemaConfig())._schema

    costed = prepare_document(graphql_schema, TICKETS)
    invalid = prepare_document(graphql_schema, INVALID)

    assert costed is not None
    assert costed.cost_plan is not None
    assert costed.measured[GuardCode.DEPTH_LIMIT_EXCEEDED] == 5
    assert costed.measured[GuardCode.TOO_MANY_ALIASES] == 0
    assert set(costed.validation) == set(PREPARED_RULE_SETS)
    assert all(errors == () for errors in costed.validation.values())
    assert invalid is not None
    assert invalid.cost_plan is None
    assert invalid.validation_errors(graphql_schema, PREPARED_RULE_SETS[0])
    assert prepare_document(graphql_schema, "{ me {") is None


def test_keep_prepares_new_texts_reuses_kept_ones_and_drops_the_rest() -> None:
    documents = PreparedDocuments(build_schema(SchemaConfig())._schema)
    documents.keep([ME, TICKETS, "{ me {"])
    first = documents.get(ME)

    documents.keep(["".join(ME), INVALID])

    assert len(documents) == 2
    assert documents.get(ME) is first  # not prepared again
    assert documents.get(TICKETS) is None  # no longer kept
    assert documents.get("{ me {") is None  # never preparable: the ordinary path answers
    assert INVALID in documents


def test_each_answer_gets_its_own_error_list() -> None:
    graphql_schema = build_schema(SchemaConfig())._schema
    prepared = prepare_document(graphql_schema, INVALID)
    assert prepared is not None

    first = prepared.validation_errors(graphql_schema, PREPARED_RULE_SETS[0])
    first.clear()  # later steps edit the list in place (opaque errors)

    assert prepared.validation_errors(graphql_schema, PREPARED_RULE_SETS[0])


def test_a_document_that_fails_to_prepare_is_left_to_the_ordinary_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    documents = PreparedDocuments(build_schema(SchemaConfig())._schema)
    real = schema.guards.preparation.prepare_document

    def failing_for_tickets(graphql_schema: Any, text: str) -> Any:
        if text == TICKETS:
            raise RecursionError("as a pathological document might")
        return real(graphql_schema, text)

    monkeypatch.setattr(schema.guards.preparation, "prepare_document", failing_for_tickets)
    with capture_logs() as logs:
        documents.keep([TICKETS, ME])

    assert documents.get(TICKETS) is None
    assert documents.get(ME) is not None
    assert [log["event"] for log in logs] == ["persisted_operation_not_prepared"]
