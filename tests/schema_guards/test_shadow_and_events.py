"""Shadow mode and refusal events: every shadowable limit, generated from SHADOW_LIMITS.

Shadowed, a request at, under or over a limit runs, and only the one over it leaves one
``graphql_guard_shadow_refusal`` event with what it measured. Enforced, the one over it
is refused with exactly one ``graphql_guard_refused`` event. No event holds the query
text or the variables.
"""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from graphql import GraphQLSyntaxError, parse

from api.settings import SettingsError, load_settings
from permissions.principal import Principal, user_principal
from permissions.roles import Role
from schema.guards import SHADOW_LIMITS, GuardsConfig
from schema.guards.document import token_count
from schema.guards.verdict import (
    HASHED_CHARS_MAX,
    REFUSED_EVENT,
    SHADOW_EVENT,
    principal_reference,
)
from tests.schema_guards.events import guard_events, named

from .conftest import MUTATION_CALLS, assert_refused, codes, make_schema, run, wide_but

USER_ID = uuid.UUID("00000000-0000-4000-8000-000000000001")


@dataclasses.dataclass
class Context:
    principal: Principal = dataclasses.field(
        default_factory=lambda: user_principal(USER_ID, Role.agent, None)
    )
    request_id: str = "req-guards"
    introspection_allowed: bool = False
    in_batch: bool = False
    cost_extensions: Any = None


def _padded(n: int) -> str:
    return "{hello" + " " * (n - 7) + "}"


def _fields(n: int) -> str:
    return "{ " + "hello " * (n - 2) + "}"


def _aliases(n: int) -> str:
    return "{ " + " ".join(f"a{i}: hello" for i in range(n)) + " }"


def _directives(n: int) -> str:
    return "{ " + " ".join("hello @include(if: true)" for _ in range(n)) + " }"


_BY_DEPTH = {
    1: "{ hello }",
    2: "{ ticket { id } }",
    3: "{ ticket { comments(first: 1) { id } } }",
}


def _mutations(n: int) -> str:
    return "mutation { " + " ".join(f"m{i}: closeTicket(id: {i}) {{ id }}" for i in range(n)) + " }"


def _cost(n: int) -> str:
    return f"{{ tickets(first: {n}) {{ id }} }}"


# name -> (GuardsConfig field, limit, document measuring n). One entry per document
# limit; the generator test below fails when SHADOW_LIMITS gains a name not listed.
DOCUMENT_LIMITS: dict[str, tuple[str, int, Callable[[int], str]]] = {
    "document_chars": ("max_document_chars", 40, _padded),
    "tokens": ("max_tokens", 8, _fields),
    "aliases": ("max_aliases", 3, _aliases),
    "directives": ("max_directives", 3, _directives),
    "depth": ("max_depth", 2, _BY_DEPTH.__getitem__),
    "mutations": ("max_mutations_per_request", 2, _mutations),
    "cost": ("max_cost", 4, _cost),
}


def test_every_shadowable_limit_is_tested() -> None:
    # time and batch: tests/schema_guards/test_guard_events_http.py (the HTTP layer's)
    assert set(SHADOW_LIMITS) == {*DOCUMENT_LIMITS, "time", "batch"}


def _schema(name: str, *, shadow: bool) -> Any:
    field, limit, _document = DOCUMENT_LIMITS[name]
    shadowed = frozenset({name}) if shadow else frozenset()
    return make_schema(**wide_but(**{field: limit}), shadow=shadowed)


def _assert_ran(result: Any) -> None:
    assert result.errors is None, [e.formatted for e in result.errors or ()]
    assert result.data is not None


@pytest.mark.parametrize("name", DOCUMENT_LIMITS)
async def test_a_shadowed_limit_lets_requests_through_and_logs_only_the_breach(
    name: str,
) -> None:
    _field, limit, document = DOCUMENT_LIMITS[name]
    schema = _schema(name, shadow=True)

    for measured in (limit - 1, limit, limit + 1):
        MUTATION_CALLS.clear()
        query = document(measured)
        with guard_events() as logs:
            result = await run(schema, query, context=Context())

        _assert_ran(result)
        assert named(logs, REFUSED_EVENT) == []
        shadow = named(logs, SHADOW_EVENT)
        if measured <= limit:
            assert shadow == [], (measured, shadow)
            continue
        assert shadow == [
            {
                "event": SHADOW_EVENT,
                "log_level": "warning",
                "rule": SHADOW_LIMITS[name].value,
                "limit": limit,
                "measured": measured,
                "principal": {"kind": "user", "id": str(USER_ID)},
                "operation_hash": hashlib.sha256(query.encode()).hexdigest(),
                "operation_name": None,
                "request_id": "req-guards",
            }
        ]


@pytest.mark.parametrize("name", DOCUMENT_LIMITS)
async def test_an_enforced_limit_refuses_the_breach_with_one_event(name: str) -> None:
    _field, limit, document = DOCUMENT_LIMITS[name]
    schema = _schema(name, shadow=False)
    query = document(limit + 1)

    with guard_events() as logs:
        at_limit = await run(schema, document(limit), context=Context())
        MUTATION_CALLS.clear()
        over = await run(schema, query, context=Context())

    _assert_ran(at_limit)
    assert_refused(over, SHADOW_LIMITS[name].value)
    assert named(logs, SHADOW_EVENT) == []
    (event,) = named(logs, REFUSED_EVENT)
    # Tokens: the parser aborts past the limit, so the event says "limit + 1" (more than).
    assert event["rule"] == SHADOW_LIMITS[name].value
    assert (event["limit"], event["measured"]) == (limit, limit + 1)
    assert event["principal"] == {"kind": "user", "id": str(USER_ID)}
    assert event["operation_hash"] == hashlib.sha256(query.encode()).hexdigest()
    assert event["request_id"] == "req-guards"


async def test_the_cost_refusal_keeps_its_extensions() -> None:
    result = await run(_schema("cost", shadow=False), _cost(5), context=Context())

    assert (result.errors or [])[0].extensions == {
        "code": "COST_LIMIT_EXCEEDED",
        "cost": 5,
        "maxCost": 4,
    }


async def test_a_shadowed_cost_still_reports_the_cost() -> None:
    result = await run(_schema("cost", shadow=True), _cost(5), context=Context())

    assert result.extensions == {"cost": {"requested": 5, "actual": 5}}


async def test_events_hold_neither_the_query_text_nor_the_variables() -> None:
    schema = make_schema(**wide_but(max_aliases=1))
    query = """
      # sekrit-comment
      query Secret($status: Status) { a: tickets(first: 1, status: $status) { subject }
                                      b: hello }
    """
    with guard_events() as logs:
        result = await run(
            schema,
            query,
            variables={"status": "CLOSED"},
            context=Context(),
            operation_name="Secret",
        )

    assert codes(result) == ["TOO_MANY_ALIASES"]
    (event,) = named(logs, REFUSED_EVENT)
    assert event["operation_name"] == "Secret"
    text = repr(event)
    for leaked in ("sekrit", "tickets", "CLOSED", "status"):
        assert leaked not in text


async def test_a_long_operation_name_is_cut() -> None:
    name = "Q" * 500
    schema = make_schema(**wide_but(max_aliases=0))
    with guard_events() as logs:
        await run(schema, f"query {name} {{ a: hello }}", context=Context(), operation_name=name)

    (event,) = named(logs, REFUSED_EVENT)
    assert event["operation_name"] == "Q" * 128


async def test_the_parsers_nesting_refusal_is_one_event_without_a_limit() -> None:
    schema = make_schema(**wide_but())
    query = "{ " + "a { " * 2_000 + "b" + " }" * 2_000 + " }"
    with guard_events() as logs:
        result = await run(schema, query, context=Context())

    assert_refused(result, "DEPTH_LIMIT_EXCEEDED")
    (event,) = named(logs, REFUSED_EVENT)
    assert (event["rule"], event["limit"], event["measured"]) == (
        "DEPTH_LIMIT_EXCEEDED",
        None,
        None,
    )


async def test_the_parsers_nesting_refusal_stays_when_depth_is_shadowed() -> None:
    schema = make_schema(**wide_but(), shadow=frozenset({"depth"}))
    query = "{ " + "a { " * 2_000 + "b" + " }" * 2_000 + " }"

    assert_refused(await run(schema, query, context=Context()), "DEPTH_LIMIT_EXCEEDED")


async def test_refused_introspection_is_one_event() -> None:
    schema = make_schema()
    query = '{ __schema { queryType { name } } t: __type(name: "Query") { name } }'
    with guard_events() as logs:
        result = await run(schema, query, context=Context())

    assert set(codes(result)) == {"INTROSPECTION_DISABLED"}
    (event,) = named(logs, REFUSED_EVENT)
    assert event["rule"] == "INTROSPECTION_DISABLED"
    assert (event["limit"], event["measured"]) == (None, None)


async def test_a_mutation_in_a_batch_is_one_event() -> None:
    schema = make_schema()
    with guard_events() as logs:
        result = await run(
            schema, "mutation { closeTicket(id: 1) { id } }", context=Context(in_batch=True)
        )

    assert_refused(result, "MUTATION_IN_BATCH")
    (event,) = named(logs, REFUSED_EVENT)
    assert event["rule"] == "MUTATION_IN_BATCH"


async def test_requests_within_every_limit_log_nothing() -> None:
    with guard_events() as logs:
        result = await run(
            make_schema(), "{ ticket { comments(first: 2) { id } } }", context=Context()
        )

    _assert_ran(result)
    assert named(logs, REFUSED_EVENT) == named(logs, SHADOW_EVENT) == []


@pytest.mark.parametrize(
    "document",
    [
        "{ hello }",
        "# a comment\n{ hello # another\n }\n# trailing",
        'query Q($a: Int = 1) { a: b(c: "s", d: [1, 2]) { ...F } } fragment F on T { z }',
    ],
)
def test_token_count_matches_the_parsers_limit(document: str) -> None:
    count = token_count(document)

    parse(document, max_tokens=count)
    with pytest.raises(GraphQLSyntaxError, match="more than"):
        parse(document, max_tokens=count - 1)


def test_a_partner_is_named_by_its_api_key() -> None:
    key = uuid.uuid4()
    partner = Principal(kind="partner", api_key_id=key, user_id=uuid.uuid4())

    assert principal_reference(partner) == {"kind": "partner", "id": str(key)}
    assert principal_reference(None) == {"kind": None, "id": None}


def test_shadow_limits_setting_is_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENDESK_GRAPHQL_SHADOW_LIMITS", "depth, cost,,time")

    assert load_settings().graphql_shadow_limits == {"depth", "cost", "time"}


@pytest.mark.parametrize("value", ["depth,batches", "Depth", "everything"])
def test_an_unknown_shadow_limit_stops_start_up(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("OPENDESK_GRAPHQL_SHADOW_LIMITS", value)

    with pytest.raises(SettingsError) as raised:
        load_settings()

    message = str(raised.value)
    assert message.startswith("OPENDESK_GRAPHQL_SHADOW_LIMITS: unknown limit")
    assert "\n" not in message


def test_guards_config_refuses_an_unknown_shadow_limit() -> None:
    with pytest.raises(ValueError, match="unknown limit 'batches'"):
        GuardsConfig(
            introspection_allowed=False, suggestions_enabled=False, shadow=frozenset({"batches"})
        )


async def test_a_huge_document_is_refused_hashing_only_a_bounded_prefix() -> None:
    schema = make_schema(max_document_chars=20_000)
    huge = "{ hello }\n#" + "x" * (HASHED_CHARS_MAX * 4)
    fits = "{ hello }\n#" + "x" * 10_000

    with guard_events() as logs:
        refused = await run(schema, huge, context=Context())
        ran = await run(schema, fits, context=Context())

    assert_refused(refused, "DOCUMENT_TOO_LARGE")
    assert ran.errors is None
    (event,) = named(logs, REFUSED_EVENT)
    prefix = huge[:HASHED_CHARS_MAX].encode()
    assert event["operation_hash"] == hashlib.sha256(prefix).hexdigest()
    assert event["hashed_chars"] == HASHED_CHARS_MAX
    assert event["measured"] == len(huge)
    # A document that could run is hashed whole: its hash is the persisted-operation id.
    assert HASHED_CHARS_MAX > 20_000
