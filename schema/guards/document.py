"""Limits on the raw document, before and while it is parsed."""

from __future__ import annotations

from collections.abc import Iterator

from strawberry.extensions import MaxTokensLimiter, SchemaExtension

from schema.guards.errors import GuardCode, refusal, tag_errors


class DocumentSizeLimit(SchemaExtension):
    """Refuses a query text longer than ``limit`` characters before it is parsed.

    graphql-core's ``max_source_length`` parse option does the same but reports a
    plain syntax error; this one carries DOCUMENT_TOO_LARGE and runs even when a
    parser cache would skip parsing.
    """

    def __init__(self, *, limit: int) -> None:
        self.limit = limit

    def on_parse(self) -> Iterator[None]:
        query = self.execution_context.query
        if query is not None and len(query) > self.limit:
            # Raised from the hook, strawberry turns it into the response's only error.
            raise refusal(
                f"Document is longer than {self.limit} characters.",
                GuardCode.DOCUMENT_TOO_LARGE,
                limit=self.limit,
            )
        yield


class TokenLimit(MaxTokensLimiter):
    """strawberry's MaxTokensLimiter, with TOO_MANY_TOKENS on the parser's refusal.

    The parser counts comments too, so comment padding is bounded as well.
    """

    def __init__(self, *, limit: int) -> None:
        super().__init__(max_token_count=limit)

    def on_parse(self) -> Iterator[None]:
        yield
        tag_errors(
            self.execution_context.pre_execution_errors,
            f"Document contains more than {self.max_token_count} tokens.",
            GuardCode.TOO_MANY_TOKENS,
        )


class ErrorCodes(SchemaExtension):
    """Gives GRAPHQL_PARSE_FAILED / GRAPHQL_VALIDATION_FAILED to refusals without a code,
    so that every pre-execution refusal carries ``extensions.code``."""

    def on_parse(self) -> Iterator[None]:
        yield
        self._fill(GuardCode.GRAPHQL_PARSE_FAILED)

    def on_validate(self) -> Iterator[None]:
        yield
        self._fill(GuardCode.GRAPHQL_VALIDATION_FAILED)

    def _fill(self, code: GuardCode) -> None:
        for error in self.execution_context.pre_execution_errors or ():
            if not error.extensions or "code" not in error.extensions:
                error.extensions = {**(error.extensions or {}), "code": code.value}
