"""Judging a document from its text alone: the length limit and the bracket-nesting bound."""

from __future__ import annotations

import pytest
import strawberry
from graphql import build_schema as build_sdl_schema
from graphql import parse
from structlog.testing import capture_logs

from schema.build import SchemaConfig, build_schema
from schema.guards.config import GuardsConfig
from schema.guards.errors import NESTED_TOO_DEEPLY, GuardCode
from schema.guards.limits import depth
from schema.guards.precheck import (
    DocumentPrecheck,
    bracket_nesting_exceeds,
    input_nesting,
    nesting_bound,
)
from schema.guards.verdict import REFUSED_EVENT, SHADOW_EVENT, RequestSubject


def _nested(levels: int) -> str:
    return "{ a " * (levels - 1) + "{ b }" + " }" * (levels - 1)


@pytest.mark.parametrize("levels", [1, 5, 23])
def test_nesting_at_the_bound_passes_and_one_more_level_does_not(levels: int) -> None:
    assert not bracket_nesting_exceeds(_nested(levels), levels)
    assert bracket_nesting_exceeds(_nested(levels + 1), levels)


def test_every_kind_of_bracket_counts_as_one_more_level() -> None:
    text = "query($v: [[Int]]) { a(x: {y: [1]}) { b } }"  # ( [ [ ... { ( { [ ... : 4 deep
    assert not bracket_nesting_exceeds(text, 4)
    assert bracket_nesting_exceeds(text, 3)


def test_many_siblings_are_wide_not_deep() -> None:
    text = "{ " + " ".join(f"f{n} {{ g {{ h }} }}" for n in range(500)) + " }"
    assert not bracket_nesting_exceeds(text, 3)
    assert bracket_nesting_exceeds(text, 2)


@pytest.mark.parametrize(
    "padding",
    [
        '"' + "{" * 50 + '"',  # a string
        '"\\"' + "{" * 50 + '"',  # an escaped quote inside a string
        '"""' + '{ " "" \\""" ' * 20 + '"""',  # a block string with quotes and an escape
        "#" + "{" * 50 + "\n",  # a comment
    ],
)
def test_brackets_in_strings_and_comments_are_text(padding: str) -> None:
    text = f"{{ a(s: {padding}) {{ b }} }}" if not padding.startswith("#") else padding + "{ a }"
    assert not bracket_nesting_exceeds(text, 3)


def test_a_run_of_unclosed_brackets_is_refused_without_reducing() -> None:
    assert bracket_nesting_exceeds("{ a " * 30, 23)
    assert not bracket_nesting_exceeds("{ a " * 23, 23)


def test_the_real_schema_has_bounded_input_nesting() -> None:
    schema = build_schema(SchemaConfig(production=True, max_page_size=100))._schema
    inputs = input_nesting(schema)
    assert inputs is not None
    assert nesting_bound(10, schema) == 2 * 10 + 1 + inputs


def test_input_nesting_counts_lists_and_input_objects() -> None:
    schema = build_sdl_schema(
        """
        input Inner { tags: [String!] }
        input Outer { inner: [Inner!]! }
        type Query { a(x: Outer): Int, b(y: [[Int]]): Int, c(z: String): Int }
        """
    )
    # Outer { inner: [ Inner { tags: [ "..." ] } ] }: four brackets deep.
    assert input_nesting(schema) == 4


@pytest.mark.parametrize(
    "sdl",
    [
        "input Node { next: Node, value: Int } type Query { a(x: Node): Int }",
        "scalar JSON type Query { a(x: JSON): Int }",
        "input Wrap { raw: JSON } scalar JSON type Query { a(x: [Wrap]): Int }",
    ],
    ids=["recursive input", "free-form scalar", "free-form scalar inside an input"],
)
def test_no_bound_holds_when_input_values_may_nest_without_end(sdl: str) -> None:
    schema = build_sdl_schema(sdl)
    assert input_nesting(schema) is None
    assert nesting_bound(10, schema) is None


def _precheck(**overrides: object) -> DocumentPrecheck:
    config = GuardsConfig(introspection_allowed=False, suggestions_enabled=False, **overrides)  # type: ignore[arg-type]
    return DocumentPrecheck.from_config(
        config, build_schema(SchemaConfig(production=True, max_page_size=100))._schema
    )


def _subject(query: str) -> RequestSubject:
    return RequestSubject({"request_id": "req-1"}, query, "Named")


def test_a_document_over_the_length_limit_is_refused_and_logged_once() -> None:
    with capture_logs() as logs:
        refused = _precheck(max_document_chars=100).refuse(_subject("{ me { id } }" + " " * 100))

    assert refused is not None
    assert refused.message == "Document is longer than 100 characters."
    assert refused.extensions == {"code": "DOCUMENT_TOO_LARGE", "limit": 100}
    (event,) = logs
    assert event["event"] == REFUSED_EVENT
    assert event["rule"] == "DOCUMENT_TOO_LARGE"
    assert (event["limit"], event["measured"]) == (100, 113)
    assert event["principal"] == {"kind": None, "id": None}  # before authentication
    assert (event["request_id"], event["operation_name"]) == ("req-1", "Named")


def test_a_document_nested_past_the_bound_is_refused_as_the_parser_would() -> None:
    with capture_logs() as logs:
        refused = _precheck().refuse(_subject(_nested(200)))

    assert refused is not None
    assert refused.message == NESTED_TOO_DEEPLY
    assert refused.extensions == {"code": GuardCode.DEPTH_LIMIT_EXCEEDED.value}
    assert [(event["event"], event["rule"]) for event in logs] == [
        (REFUSED_EVENT, "DEPTH_LIMIT_EXCEEDED")
    ]


def test_a_document_at_the_depth_limit_with_an_inline_fragment_at_every_level_passes() -> None:
    """The most brackets a document within the depth limit needs: every selection set
    wrapped in an inline fragment, and an argument value as deep as the schema's inputs
    go at the deepest field. It nests exactly as deep as the bound."""
    precheck = _precheck()
    limit = 10
    schema = build_schema(SchemaConfig(production=True, max_page_size=100))._schema
    inputs = input_nesting(schema)
    assert inputs is not None
    inner = "b(x: " + "[" * inputs + "1" + "]" * inputs + ")"
    for _ in range(limit - 1):
        inner = f"a {{ ... on A {{ {inner} }} }}"
    query = f"query {{ ... on Query {{ {inner} }} }}"

    assert depth(parse(query)) == limit
    assert precheck.max_nesting == 2 * limit + 1 + inputs
    assert not bracket_nesting_exceeds(query, precheck.max_nesting)
    assert bracket_nesting_exceeds(query, precheck.max_nesting - 1)  # no slack in the bound
    with capture_logs() as logs:
        assert precheck.refuse(_subject(query)) is None
    assert logs == []


def test_shadowed_limits_are_left_to_the_chain() -> None:
    precheck = _precheck(max_document_chars=10, shadow=frozenset({"document_chars", "depth"}))
    assert (precheck.length, precheck.max_nesting) == (None, None)
    with capture_logs() as logs:
        assert precheck.refuse(_subject(_nested(300) + " " * 20)) is None
    assert not [event for event in logs if event["event"] in (REFUSED_EVENT, SHADOW_EVENT)]


def test_no_text_is_nothing_to_judge() -> None:
    assert _precheck().refuse(RequestSubject({}, None, None)) is None


def test_a_schema_with_a_free_form_scalar_gets_no_nesting_bound() -> None:
    @strawberry.type
    class Query:
        @strawberry.field
        def echo(self, value: strawberry.scalars.JSON) -> int:
            return 0

    schema = strawberry.Schema(query=Query)
    config = GuardsConfig(introspection_allowed=False, suggestions_enabled=False)
    precheck = DocumentPrecheck.from_config(config, schema._schema)
    assert precheck.max_nesting is None
    assert precheck.length is not None


@pytest.mark.parametrize(
    ("breach", "shadow"),
    [
        (GuardCode.TOO_MANY_ALIASES, frozenset()),  # not judged from the text
        (GuardCode.DOCUMENT_TOO_LARGE, frozenset({"document_chars"})),  # shadowed
        (GuardCode.DEPTH_LIMIT_EXCEEDED, frozenset({"depth"})),
    ],
)
def test_a_refusal_for_a_breach_it_does_not_judge_is_an_error_not_a_wrong_answer(
    breach: GuardCode, shadow: frozenset[str]
) -> None:
    with capture_logs() as logs, pytest.raises(ValueError, match="not a breach"):
        _precheck(shadow=shadow).refusal(_subject("{ me { id } }"), breach)
    assert logs == []
