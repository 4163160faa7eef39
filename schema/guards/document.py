"""Limits on the raw document, before and while it is parsed."""

from __future__ import annotations

from collections.abc import Iterator

from graphql import GraphQLError, Lexer, Source, TokenKind, parse
from strawberry.extensions import SchemaExtension

from schema.guards.errors import GuardCode, tag_errors
from schema.guards.prepared import prepared_document
from schema.guards.verdict import Limit, check_limit, log_refusal


class DocumentSizeLimit(SchemaExtension):
    """Refuses a query text longer than ``limit`` characters before it is parsed.

    graphql-core's ``max_source_length`` parse option does the same but reports a
    plain syntax error; this one carries DOCUMENT_TOO_LARGE and runs even when a
    parser cache would skip parsing. Measured: ``len(query)``.
    """

    def __init__(self, *, limit: Limit) -> None:
        self.limit = limit

    def on_parse(self) -> Iterator[None]:
        query = self.execution_context.query
        if query is not None:
            error = check_limit(self.execution_context, self.limit, len(query))
            if error is not None:
                # Raised from the hook, strawberry turns it into the response's only error.
                raise error
        yield


class TokenLimit(SchemaExtension):
    """The parser's token limit (strawberry's MaxTokensLimiter), with TOO_MANY_TOKENS.

    Enforcing, the parser aborts past the limit, so the exact count is never known:
    the refusal event reports ``measured`` as limit + 1 ("more than the limit").
    Shadowed, the parser gets no limit and the tokens of a parsed document are counted
    here (:func:`token_count`). The parser counts comments too, so comment padding is
    bounded as well.
    """

    def __init__(self, *, limit: Limit) -> None:
        self.limit = limit

    def on_operation(self) -> Iterator[None]:
        if not self.limit.shadow:
            self.execution_context.parse_options["max_tokens"] = int(self.limit.value)
        yield

    def on_parse(self) -> Iterator[None]:
        execution_context = self.execution_context
        prepared = prepared_document(execution_context)
        if prepared is not None:
            # Not parsed by this request: judged by the count made when it was prepared.
            tokens = prepared.measured[GuardCode.TOO_MANY_TOKENS]
            if tokens > self.limit.value and not self.limit.shadow:
                raise self._parser_refusal(prepared.text)
            check_limit(execution_context, self.limit, tokens)  # logs a shadowed breach
            yield
            return
        yield
        refused = tag_errors(
            execution_context.pre_execution_errors, self._parser_message, GuardCode.TOO_MANY_TOKENS
        )
        if refused:
            log_refusal(
                execution_context,
                GuardCode.TOO_MANY_TOKENS,
                limit=self.limit.value,
                measured=self.limit.value + 1,
            )
        elif (
            self.limit.shadow
            and execution_context.query is not None
            and execution_context.graphql_document is not None
            and not execution_context.pre_execution_errors
        ):
            check_limit(execution_context, self.limit, token_count(execution_context.query))

    @property
    def _parser_message(self) -> str:
        return f"Document contains more than {self.limit.value} tokens."

    def _parser_refusal(self, text: str) -> GraphQLError:
        """The parser's own refusal of ``text`` (it stops at the limit), tagged and logged
        as an unprepared request's is: the answer does not tell the two paths apart."""
        try:
            parse(text, max_tokens=int(self.limit.value))
        except GraphQLError as error:
            tag_errors([error], self._parser_message, GuardCode.TOO_MANY_TOKENS)
            log_refusal(
                self.execution_context,
                GuardCode.TOO_MANY_TOKENS,
                limit=self.limit.value,
                measured=self.limit.value + 1,
            )
            return error
        raise AssertionError("a document over the token limit parsed")  # pragma: no cover


def token_count(query: str) -> int:
    """Tokens of a document that parses, counted as the parser's ``max_tokens`` does
    (comments included, the start and end of the source not)."""
    lexer = Lexer(Source(query))
    start = lexer.token
    while lexer.advance().kind is not TokenKind.EOF:
        pass
    # The lexer chains the comments it skips between the tokens it returns.
    count = 0
    token = start.next
    while token is not None and token.kind is not TokenKind.EOF:
        count += 1
        token = token.next
    return count


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
