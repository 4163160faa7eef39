from __future__ import annotations

import uuid

import pytest

from .conftest import MUTATION_CALLS, assert_refused, codes, make_schema, run

pytestmark = pytest.mark.asyncio


def aliases(n: int) -> str:
    return "{ " + " ".join(f"a{i}: hello" for i in range(n)) + " }"


def directives(n: int) -> str:
    return "{ hello " + " ".join("@include(if: true)" for _ in range(n)) + " }"


def nested(n: int) -> str:
    """n levels of fields (validity does not matter: depth is refused before validation)."""
    return "{ " + "a { " * (n - 1) + "b" + " }" * (n - 1) + " }"


def mutations(n: int) -> str:
    return "mutation { " + " ".join(f"m{i}: closeTicket(id: {i}) {{ id }}" for i in range(n)) + " }"


LIMITS = [
    ("max_aliases", aliases, "TOO_MANY_ALIASES"),
    ("max_directives", directives, "TOO_MANY_DIRECTIVES"),
    ("max_depth", nested, "DEPTH_LIMIT_EXCEEDED"),
    ("max_mutations_per_request", mutations, "TOO_MANY_MUTATIONS"),
]


@pytest.mark.parametrize(("setting", "document", "code"), LIMITS)
@pytest.mark.parametrize("limit", [1, 4, 7])
async def test_limit_refuses_only_above_it(setting, document, code, limit) -> None:
    schema = make_schema(**{"max_aliases": 100, setting: limit})
    for n in (limit - 1, limit):
        if n < 1:
            continue
        result = await run(schema, document(n))
        assert code not in codes(result)
    MUTATION_CALLS.clear()
    assert_refused(await run(schema, document(limit + 1)), code)


async def test_mutations_at_limit_execute() -> None:
    schema = make_schema(max_mutations_per_request=2, max_aliases=100)
    result = await run(schema, mutations(2))
    assert result.errors is None
    assert MUTATION_CALLS == ["close:0", "close:1"]


async def test_mutation_count_goes_through_fragments() -> None:
    schema = make_schema(max_mutations_per_request=2)
    query = """
      mutation { ...M ... on Mutation { c: closeTicket(id: 3) { id } } }
      fragment M on Mutation { a: closeTicket(id: 1) { id } b: closeTicket(id: 2) { id } }
    """
    assert_refused(await run(schema, query), "TOO_MANY_MUTATIONS")


async def test_mutation_count_is_per_selected_operation() -> None:
    schema = make_schema(max_mutations_per_request=1)
    query = """
      mutation One { closeTicket(id: 1) { id } }
      mutation Two { a: closeTicket(id: 2) { id } b: closeTicket(id: 3) { id } }
    """
    result = await run(schema, query, operation_name="One")
    assert result.errors is None
    assert MUTATION_CALLS == ["close:1"]
    MUTATION_CALLS.clear()
    assert_refused(await run(schema, query, operation_name="Two"), "TOO_MANY_MUTATIONS")


@pytest.mark.parametrize(
    ("setting", "query", "code"),
    [
        ("max_document_chars", "{ hello }", "DOCUMENT_TOO_LARGE"),
        ("max_tokens", "{ hello }", "TOO_MANY_TOKENS"),
    ],
)
async def test_text_limits_at_and_over(setting, query, code) -> None:
    size = len(query) if setting == "max_document_chars" else 3
    assert (await run(make_schema(**{setting: size}), query)).errors is None
    assert_refused(await run(make_schema(**{setting: size - 1}), query), code)


async def test_comments_count_as_tokens() -> None:
    query = "{ hello }\n" + "# padding\n" * 50
    assert_refused(await run(make_schema(max_tokens=20), query), "TOO_MANY_TOKENS")


async def test_aliases_in_fragments_count_once_per_spread() -> None:
    query = """
      { ...F ...G }
      fragment F on Query { a: hello b: hello }
      fragment G on Query { ...F c: hello }
    """
    # F twice (4) + c = 5
    assert (await run(make_schema(max_aliases=5), query)).errors is None
    assert_refused(await run(make_schema(max_aliases=4), query), "TOO_MANY_ALIASES")


async def test_depth_counts_through_fragments_and_inline_fragments() -> None:
    query = """
      { tickets(first: 1) { ...T } }
      fragment T on Ticket { comments(first: 1) { ... on Comment { id } } }
    """
    # tickets > comments > id
    assert (await run(make_schema(max_depth=3), query)).errors is None
    assert_refused(await run(make_schema(max_depth=2), query), "DEPTH_LIMIT_EXCEEDED")


async def test_directives_in_fragments_count_once_per_spread() -> None:
    query = """
      query Q @skip(if: false) { ...F ...F }
      fragment F on Query { hello @include(if: true) }
    """
    # operation 1 + 2 spreads x 1
    assert "TOO_MANY_DIRECTIVES" not in codes(await run(make_schema(max_directives=3), query))
    assert_refused(await run(make_schema(max_directives=2), query), "TOO_MANY_DIRECTIVES")


@pytest.mark.parametrize(
    "query",
    [
        "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }",
        "{ ...A } fragment A on Query { hello ...A }",
        "{ ...A } fragment A on Query { ticket { ...C } } fragment C on Ticket { id ...C }",
    ],
)
async def test_circular_fragments_are_refused_cleanly(query) -> None:
    result = await run(make_schema(), query)
    assert_refused(result, "GRAPHQL_VALIDATION_FAILED")
    # The detail, for a request that may introspect (strangers get schema.guards.opaque_errors).
    detailed = await run(make_schema(), query, context={"introspection_allowed": True})
    assert any("spread fragment" in error.message for error in detailed.errors or ())


async def test_unknown_fragment_is_a_validation_error_not_a_crash() -> None:
    assert_refused(await run(make_schema(), "{ ...Missing }"), "GRAPHQL_VALIDATION_FAILED")


@pytest.mark.parametrize(
    ("leaf", "code"),
    [("x: hello", "TOO_MANY_ALIASES"), ("hello @include(if: true)", "TOO_MANY_DIRECTIVES")],
)
async def test_fragment_fan_out_is_measured_without_expanding_it(leaf, code) -> None:
    # 2^60 expansions if walked per spread (strawberry's limiters); linear here.
    n = 60
    frags = "\n".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(n))
    query = "{ ...F0 }\n" + frags + f"\nfragment F{n} on Query {{ {leaf} }}"
    result = await run(make_schema(max_tokens=10_000, max_document_chars=100_000), query)
    assert_refused(result, code)


async def test_long_fragment_chain_does_not_exhaust_the_stack() -> None:
    n = 3_000
    frags = "\n".join(f"fragment F{i} on Query {{ ...F{i + 1} }}" for i in range(n))
    query = "{ ...F0 }\n" + frags + f"\nfragment F{n} on Query {{ ticket {{ id }} }}"
    schema = make_schema(max_tokens=100_000, max_document_chars=1_000_000, max_depth=1)
    assert_refused(await run(schema, query), "DEPTH_LIMIT_EXCEEDED")


async def test_a_repeated_document_is_measured_once_and_still_refused(monkeypatch) -> None:
    import schema.guards.limits as limits

    walks = []
    original = limits.alias_count

    def counted(document):  # type: ignore[no-untyped-def]
        walks.append(1)
        return original(document)

    monkeypatch.setattr(limits, "alias_count", counted)
    # Texts no other test sends: the measurements are cached process-wide.
    unique = uuid.uuid4().hex[:8]
    over = "{ " + " ".join(f"a{n}_{unique}: hello" for n in range(4)) + " }"
    other = f"{{ b_{unique}: hello }}"
    schema = make_schema(max_aliases=3)

    first, second = await run(schema, over), await run(schema, over)
    await run(schema, other)

    assert_refused(first, "TOO_MANY_ALIASES")
    assert_refused(second, "TOO_MANY_ALIASES")
    assert len(walks) == 2  # each text once
