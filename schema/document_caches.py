"""The parse and validation steps' caches, which serve prepared documents first.

A prepared document (a persisted operation: schema.guards.prepared) is neither parsed
nor validated by a request: its tree and its validation result were made when it was
prepared. Any other text is looked up in a bounded LRU of parsed documents, then
strawberry's validation cache.

Why not strawberry's ParserCache: it parses inside its hook, so a document the parser
refuses (past the token limit, nested past the recursion limit) raises out of the hooks
and the guards' after-parse hooks never see it: the answer said GRAPHQL_PARSE_FAILED and
no refusal was logged. Here a text that is not cached is left to strawberry's own parse
step, which turns a parser error into the answer and lets every hook see it; the tree is
cached after a parse that succeeded.

Strawberry's ValidationCache assigns its (cached) result to ``pre_execution_errors``
unconditionally, which would erase a refusal a guard made just before it (aliases,
depth, directives, mutations...) and let the document run. Both paths here keep it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator

from graphql import DocumentNode
from strawberry.extensions import SchemaExtension, ValidationCache

from schema.guards.prepared import prepared_document

# A parsed tree depends on the text and on the parser's token cap.
_ParseKey = tuple[str, int | None]


class ParsedDocuments:
    """A bounded LRU of parsed documents, shared by a schema's requests."""

    def __init__(self, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError("the parsed-document cache needs maxsize >= 1")
        self.maxsize = maxsize
        self._documents: OrderedDict[_ParseKey, DocumentNode] = OrderedDict()

    def get(self, key: _ParseKey) -> DocumentNode | None:
        document = self._documents.get(key)
        if document is not None:
            self._documents.move_to_end(key)
        return document

    def put(self, key: _ParseKey, document: DocumentNode) -> None:
        self._documents[key] = document
        self._documents.move_to_end(key)
        while len(self._documents) > self.maxsize:
            self._documents.popitem(last=False)

    def __len__(self) -> int:
        return len(self._documents)


class ParseStep(SchemaExtension):
    """Sets the request's document when it is prepared or cached; otherwise strawberry
    parses it (after every guard's before-parse hook) and the tree is kept."""

    def __init__(self, *, parsed: ParsedDocuments) -> None:
        self.parsed = parsed

    def on_parse(self) -> Iterator[None]:
        execution_context = self.execution_context
        prepared = prepared_document(execution_context)
        if prepared is not None:
            # strawberry parses only when no extension has set the document.
            execution_context.graphql_document = prepared.document
            yield
            return
        text = execution_context.query
        if not text:
            yield  # strawberry answers that there is no query
            return
        key = (text, execution_context.parse_options.get("max_tokens"))
        execution_context.graphql_document = self.parsed.get(key)
        yield
        document = execution_context.graphql_document
        if document is not None and not execution_context.pre_execution_errors:
            self.parsed.put(key, document)


class ValidationCacheAfterGuards(ValidationCache):
    def on_validate(self) -> Iterator[None]:
        execution_context = self.execution_context
        if execution_context.pre_execution_errors:
            yield
            return
        prepared = prepared_document(execution_context)
        if prepared is None or execution_context.graphql_document is not prepared.document:
            yield from super().on_validate()
            return
        # A list (even empty) tells strawberry that validation has run.
        execution_context.pre_execution_errors = prepared.validation_errors(
            execution_context.schema._schema, execution_context.validation_rules
        )
        yield
