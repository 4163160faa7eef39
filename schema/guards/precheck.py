"""Judging a document's text before anything parses it: its length, and how deep its
brackets nest (a bounded scan of the characters).

The HTTP layer runs this on a request's body before the request is authenticated or
routed (api/graphql_precheck.py), so a document that can only be refused costs about as
much as a refused body size. The length is the ``document_chars`` limit the guard chain
enforces (DocumentSizeLimit, same message, code and event). The nesting bound
(:func:`nesting_bound`) is this module's own rule, of the kind graphql-core's parser
applies to nesting it will not follow ("Document is nested too deeply.",
DEPTH_LIMIT_EXCEEDED): no document within the depth limit needs it, even with an inline
fragment wrapping every selection set; one stacking more inline fragments than that is
refused. A shadowed limit is not judged here (the chain logs its breach, once); nor is
anything the scan cannot be sure of. Whatever passes is judged again, in full, by the
guard chain.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from graphql import (
    GraphQLEnumType,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    specified_scalar_types,
)

from schema.guards.config import GuardsConfig
from schema.guards.errors import NESTED_TOO_DEEPLY, GuardCode, refusal
from schema.guards.verdict import Limit, Subject, log_refusal, refuse_over_limit

__all__ = ("DocumentPrecheck", "bracket_nesting_exceeds", "input_nesting", "nesting_bound")

# Scalars whose literals are never lists or objects (strings or numbers): they add no
# nesting. Any other custom scalar (a JSON scalar, say) may take any literal, so the
# nesting of the schema's inputs is then unbounded and the scan is not made.
FLAT_LITERAL_SCALARS: Final = frozenset(
    {*specified_scalar_types, "DateTime", "Date", "Time", "Decimal", "UUID", "Upload"}
)

# String literals (block strings first) and comments: brackets inside them are text.
_STRINGS_AND_COMMENTS: Final = re.compile(
    r'"""(?:\\"""|[^"]|"(?!""))*"""|"(?:\\.|[^"\\\n\r])*"|#[^\n\r]*'
)
# For bytes.translate: every bracket as one kind, every other byte (UTF-8 included) deleted.
_ONE_KIND: Final = bytes.maketrans(b"{[]}", b"(())")
_NOT_BRACKETS: Final = bytes(byte for byte in range(256) if byte not in b"(){}[]")


def input_nesting(schema: GraphQLSchema) -> int | None:
    """The deepest brackets any argument value of ``schema`` can need (lists and input
    objects, as literals or as variable types); ``None`` when unbounded (a recursive
    input type, or a scalar that may take a list or object literal)."""
    deepest = 0
    seen: dict[str, int | None] = {}
    arguments = [
        argument.type
        for named in schema.type_map.values()
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType)
        for field in named.fields.values()
        for argument in field.args.values()
    ]
    arguments += [
        argument.type for directive in schema.directives for argument in directive.args.values()
    ]
    for argument_type in arguments:
        nesting = _nesting(argument_type, seen, frozenset())
        if nesting is None:
            return None
        deepest = max(deepest, nesting)
    return deepest


def _nesting(
    kind: GraphQLInputType, seen: dict[str, int | None], path: frozenset[str]
) -> int | None:
    if isinstance(kind, GraphQLNonNull):
        return _nesting(kind.of_type, seen, path)
    if isinstance(kind, GraphQLList):
        inner = _nesting(kind.of_type, seen, path)
        return None if inner is None else inner + 1
    if isinstance(kind, GraphQLEnumType):
        return 0
    if isinstance(kind, GraphQLScalarType):
        return 0 if kind.name in FLAT_LITERAL_SCALARS else None
    if isinstance(kind, GraphQLInputObjectType):
        if kind.name in path:
            return None  # recursive: values may nest without bound
        if kind.name not in seen:
            inner_path = path | {kind.name}
            fields = [_nesting(field.type, seen, inner_path) for field in kind.fields.values()]
            bounded = [nesting for nesting in fields if nesting is not None]
            seen[kind.name] = 1 + max(bounded, default=0) if len(bounded) == len(fields) else None
        return seen[kind.name]
    return None


def nesting_bound(max_depth: int, schema: GraphQLSchema) -> int | None:
    """How deep brackets may nest in a document the depth limit admits; ``None`` when
    no bound holds for this schema.

    A field ``max_depth`` deep sits inside ``max_depth`` selection sets; its arguments
    add a parenthesis and at most :func:`input_nesting` brackets. Inline fragments
    (``... on T { }``) add a selection set without adding depth, so every selection
    set is allowed one of those as well: twice the depth, plus the arguments.
    """
    inputs = input_nesting(schema)
    if inputs is None:
        return None
    return 2 * max_depth + 1 + inputs


def bracket_nesting_exceeds(text: str, bound: int) -> bool:
    """True when some bracket pair of ``text`` (``()``, ``[]`` or ``{}``, outside
    strings and comments) has more than ``bound`` pairs around and inside it.

    Pairs are matched as if all brackets were one kind (only an unparsable document
    mixes them up), and so are ``bound + 1`` opening brackets in a row (closed, they
    nest that deep; never closed, the document cannot be parsed). Each pass removes
    every innermost pair, so a pair remains after ``bound`` passes only if pairs nest
    deeper than ``bound``: one ``bytes.translate`` keeps the brackets, then at most
    ``bound`` passes of ``bytes.replace``, no per-character Python loop. A text with no
    more opening brackets than ``bound`` is judged by counting them.
    """
    if text.count("{") + text.count("(") + text.count("[") <= bound:
        return False
    if '"' in text or "#" in text:
        text = _STRINGS_AND_COMMENTS.sub(" ", text)
    brackets = text.encode("utf-8", "surrogatepass").translate(_ONE_KIND, _NOT_BRACKETS)
    if b"(" * (bound + 1) in brackets:
        return True  # nested that deep, or never closed: unparsable either way
    for _ in range(bound):
        reduced = brackets.replace(b"()", b"")
        if len(reduced) == len(brackets):
            return False
        brackets = reduced
    return b"()" in brackets


@dataclass(frozen=True, slots=True)
class DocumentPrecheck:
    """The text-only judgements, built once per app from the guards' configuration.

    ``length``: the enforced ``document_chars`` limit (``None`` when shadowed);
    ``max_nesting``: the bracket bound (``None`` when the depth limit is shadowed or no
    bound holds for the schema).
    """

    length: Limit | None
    max_nesting: int | None

    @classmethod
    def from_config(cls, config: GuardsConfig, schema: GraphQLSchema) -> DocumentPrecheck:
        length = config.limit("document_chars")
        depth = config.limit("depth")
        return cls(
            length=None if length.shadow else length,
            max_nesting=None if depth.shadow else nesting_bound(int(depth.value), schema),
        )

    def breach(self, query: str) -> GuardCode | None:
        """What the text alone breaches (``DOCUMENT_TOO_LARGE``, ``DEPTH_LIMIT_EXCEEDED``),
        or ``None`` (the usual answer: nothing is built, nothing logged)."""
        if self.length is not None and len(query) > self.length.value:
            return GuardCode.DOCUMENT_TOO_LARGE
        if self.max_nesting is not None and bracket_nesting_exceeds(query, self.max_nesting):
            return GuardCode.DEPTH_LIMIT_EXCEEDED
        return None

    def refusal(self, subject: Subject, breach: GuardCode) -> GraphQLError:
        """The refusal of ``subject`` for ``breach`` (from :meth:`breach`), logged once.
        Raises ``ValueError`` for anything :meth:`breach` would not have said."""
        if breach is GuardCode.DOCUMENT_TOO_LARGE and self.length is not None:
            return refuse_over_limit(subject, self.length, len(subject.query or ""))
        if breach is GuardCode.DEPTH_LIMIT_EXCEEDED and self.max_nesting is not None:
            log_refusal(subject, GuardCode.DEPTH_LIMIT_EXCEEDED)
            return refusal(NESTED_TOO_DEEPLY, GuardCode.DEPTH_LIMIT_EXCEEDED)
        raise ValueError(f"{breach} is not a breach this precheck judges")

    def refuse(self, subject: Subject) -> GraphQLError | None:
        """The refusal of ``subject``'s text (already logged), or ``None`` to let the
        guard chain judge it."""
        if subject.query is None:
            return None
        breach = self.breach(subject.query)
        return None if breach is None else self.refusal(subject, breach)
