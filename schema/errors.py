"""Error masking: expected errors pass with their code; everything else gets an error id.

The original exception is logged with the id (and the request id from the log context),
so support can find it; the client learns nothing about the internals.
"""

from __future__ import annotations

import uuid

import structlog
from graphql.error import GraphQLError, GraphQLSyntaxError
from strawberry.extensions import MaskErrors

from core.errors import ExpectedError

log = structlog.get_logger("opendesk.errors")


def _is_unexpected(error: GraphQLError) -> bool:
    original = error.original_error
    # Validation and parse errors have no original error: they are the client's mistake.
    return original is not None and not isinstance(original, ExpectedError)


def ensure_error_codes(errors: list[GraphQLError]) -> None:
    """Give every error without one a code: parse failure or validation failure.

    Called from the schema's error hook, which sees every error, including parse errors
    that end a request before any extension's exit hook runs.
    """
    for error in errors:
        if not error.extensions or "code" not in error.extensions:
            code = (
                "GRAPHQL_PARSE_FAILED"
                if isinstance(error, GraphQLSyntaxError)
                else "GRAPHQL_VALIDATION_FAILED"
            )
            error.extensions = {**(error.extensions or {}), "code": code}


class MaskUnexpectedErrors(MaskErrors):
    def __init__(self) -> None:
        super().__init__(should_mask_error=_is_unexpected, error_message="Internal server error.")

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        error_id = uuid.uuid4().hex
        log.error(
            "unexpected_error",
            error_id=error_id,
            path=error.path,
            exc_info=error.original_error,
        )
        return GraphQLError(
            message=self.error_message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            original_error=None,
            extensions={"code": "INTERNAL_SERVER_ERROR", "errorId": error_id},
        )
