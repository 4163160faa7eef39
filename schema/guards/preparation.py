"""Preparing documents ahead of their requests, and the schema's set of them.

:func:`prepare_document` does once what the request pipeline would do on a document's
first request — parse, measure its shape, validate, compile its cost plan — with the
pipeline's own functions, so a prepared document and the same text sent cold get the
same answers. :class:`PreparedDocuments` holds the prepared forms of the documents it
is told to keep (the persisted-operation allowlist: api.persisted) and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable

import structlog
from graphql import GraphQLError, GraphQLSchema, parse, specified_rules

from schema.guards.cost_plan import compile_plan
from schema.guards.document import token_count
from schema.guards.errors import GuardCode
from schema.guards.introspection import IntrospectionDisabledRule
from schema.guards.limits import alias_count, depth, directive_count, mutation_count
from schema.guards.prepared import PreparedDocument, RuleSet
from schema.guards.verdict import operation_hash

_log = structlog.get_logger("schema.guards.preparation")

# The rule sets a request can validate with: strawberry's default, and the introspection
# gate's (schema.guards.introspection), which requests that may not introspect use.
PREPARED_RULE_SETS: tuple[RuleSet, ...] = (
    tuple(specified_rules),
    (*specified_rules, IntrospectionDisabledRule),
)


def prepare_document(schema: GraphQLSchema, text: str) -> PreparedDocument | None:
    """The prepared form of ``text``; None when it does not parse (a request sending it
    gets the parser's error, and any refusal, on the ordinary path)."""
    try:
        document = parse(text)
    except GraphQLError:
        return None
    # A document holds at most one operation here (the allowlist's rule); the mutation
    # count is then the same whatever operation name a request gives.
    measured = {
        GuardCode.TOO_MANY_TOKENS: token_count(text),
        GuardCode.TOO_MANY_ALIASES: alias_count(document),
        GuardCode.TOO_MANY_DIRECTIVES: directive_count(document),
        GuardCode.DEPTH_LIMIT_EXCEEDED: depth(document),
        GuardCode.TOO_MANY_MUTATIONS: mutation_count(document, None),
    }
    prepared = PreparedDocument(text=text, document=document, measured=measured, cost_plan=None)
    for rules in PREPARED_RULE_SETS:
        prepared.validation_errors(schema, rules)
    if prepared.validation_errors(schema, PREPARED_RULE_SETS[0]):
        return prepared  # invalid: validation answers, nothing is costed
    # Valid, so every field and fragment type resolves: the plan compiles.
    return PreparedDocument(
        text=text,
        document=document,
        measured=measured,
        cost_plan=compile_plan(schema, document),
        validation=prepared.validation,
    )


class PreparedDocuments:
    """The prepared documents of one schema, by text. ``keep`` replaces the set;
    a document kept before is not prepared again. ``keep`` may run in another thread
    than ``get``: it builds a new mapping and swaps it in with one assignment."""

    def __init__(self, schema: GraphQLSchema) -> None:
        self._schema = schema
        self._by_text: dict[str, PreparedDocument] = {}

    def get(self, text: str) -> PreparedDocument | None:
        return self._by_text.get(text)

    def keep(self, texts: Iterable[str]) -> None:
        kept: dict[str, PreparedDocument] = {}
        for text in texts:
            prepared = self._by_text.get(text) or self._prepare(text)
            if prepared is not None:
                # Keyed by the caller's string object: the gate hands that same object
                # to the pipeline, so lookups find it without comparing characters.
                kept[text] = prepared
        self._by_text = kept

    def _prepare(self, text: str) -> PreparedDocument | None:
        """Preparing is an optimisation: a document it fails on (whatever the reason) is
        left to the ordinary path, which answers it as it would any text, and the rest
        of the list is still prepared."""
        try:
            return prepare_document(self._schema, text)
        except Exception:  # one bad row must not take the allowlist down
            _log.warning(
                "persisted_operation_not_prepared",
                operation_hash=operation_hash(text),
                exc_info=True,
            )
            return None

    def __len__(self) -> int:
        return len(self._by_text)

    def __contains__(self, text: object) -> bool:
        return text in self._by_text
