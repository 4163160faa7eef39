"""Error masking: expected errors pass with their code; everything else gets an error id.

The original exception is logged with the id (and the request id from the log context),
so support can find it; the client learns nothing about the internals. A ``RATE_LIMITED``
error raised by a resolver also sets the response's ``Retry-After`` header.
"""

from __future__ import annotations

import uuid
from collections.abc import MutableMapping
from typing import Any

import structlog
from graphql.error import GraphQLError, GraphQLSyntaxError
from strawberry.extensions import MaskErrors

from core.errors import ExpectedError, RateLimited
from schema.guards.context import context_value

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


def set_retry_after(errors: list[GraphQLError], context: Any) -> None:
    """``Retry-After`` on the HTTP response: the longest ``retryAfter`` of the RateLimited
    errors (and of any header already set). Nothing without such an error or response."""
    waits = [
        int(error.original_error.extensions["retryAfter"])
        for error in errors
        if isinstance(error.original_error, RateLimited)
    ]
    headers = getattr(context_value(context, "http_response"), "headers", None)
    if not waits or not isinstance(headers, MutableMapping):
        return
    current = str(headers.get("Retry-After", ""))
    if current.isdigit():
        waits.append(int(current))
    headers["Retry-After"] = str(max(waits))


class MaskUnexpectedErrors(MaskErrors):
    def __init__(self) -> None:
        super().__init__(should_mask_error=_is_unexpected, error_message="Internal server error.")

    def _process_result(self, result: object) -> None:
        # The parent asks isinstance(result, <runtime-checkable Protocol>), which on Python
        # 3.11 walks the protocol's attributes on every call: ~1.5 % of a cached `me`
        # request. Every result reaching here has ``errors`` or is skipped the same way.
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = self._process_errors(errors)  # type: ignore[attr-defined]

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
