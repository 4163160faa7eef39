"""Cheap refusal first: a POST to /graphql whose document can be refused from its text
alone (too long, brackets nested too deep: schema.guards.precheck) is answered here,
before the request is authenticated, routed or parsed.

An edge layer after CSRF, before the large-body lane: the body limit, the per-address
limit, the content type and CSRF have already judged the request, and the body is read
(the body limit holds it); what this refuses never waits for a lane slot.
What this answers is what the GraphQL route answers for the same document (200,
``{"data": null, "errors": [...]}``, the same message, code and
``graphql_guard_refused`` event), except that the event names no principal: like a 413,
the refusal comes before authentication, so an attacker's hostile documents cost each
about as much as an oversized body. Everything else (GET, a batch, a body that is not a
JSON object with a string ``query``) goes on unjudged; the guard chain judges every
document again in full.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from api.edge import REQUEST_ID_STATE_KEY
from api.edge._asgi import ASGIApp, Message, Receive, Scope, Send, route_path, scope_state
from api.edge.document_refusal import DOCUMENT_JUDGED_STATE_KEY
from api.json_codec import decode_request_json, encode_response_json
from schema.guards.errors import GuardCode
from schema.guards.precheck import DocumentPrecheck
from schema.guards.verdict import RequestSubject

__all__ = ("DocumentBreach", "GraphQLPrecheckMiddleware")


@dataclass(frozen=True, slots=True)
class DocumentBreach:
    """A body's one operation, and the limit its text breaches."""

    query: str
    operation_name: str | None
    breach: GuardCode


class GraphQLPrecheckMiddleware:
    """ASGI middleware refusing, on ``path``, POSTed documents that ``precheck`` refuses.

    A batch (a JSON list) goes on: the route answers each of its operations on its own,
    and refuses the batch first if it is too long. The server may make the same refusal
    itself once a body is complete, with this layer's :meth:`breach_of` and
    :meth:`refusal_answer` (api.edge.document_refusal).
    """

    def __init__(self, app: ASGIApp, precheck: DocumentPrecheck, *, path: str = "/graphql") -> None:
        self.app = app
        self.precheck = precheck
        self.path = route_path(path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.judges(scope) or scope_state(scope).get(DOCUMENT_JUDGED_STATE_KEY):
            # (Or the server has judged this very body: api.edge.document_refusal.)
            await self.app(scope, receive, send)
            return
        messages: deque[Message] = deque()
        more_body = True
        while more_body:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":  # the client left: the app sees it
                break
            more_body = bool(message.get("more_body", False))
        else:
            body = (
                messages[0].get("body", b"")
                if len(messages) == 1
                else b"".join(m.get("body", b"") for m in messages)
            )
            found = self.breach_of(body)
            if found is not None:
                request_id = scope_state(scope).get(REQUEST_ID_STATE_KEY)
                status, headers, answer = self.refusal_answer(found, request_id)
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": answer, "more_body": False})
                return

        async def replay() -> Message:
            return messages.popleft() if messages else await receive()

        await self.app(scope, replay, send)

    def judges(self, scope: Scope) -> bool:
        """True for the requests this layer reads and may refuse: POSTs to its path."""
        return (
            scope["type"] == "http"
            and str(scope.get("method", "")).upper() == "POST"
            and route_path(str(scope.get("path", ""))) == self.path
        )

    def breach_of(self, body: bytes) -> DocumentBreach | None:
        """The breach of the body's one operation, or ``None`` to let the route judge it.
        Logs nothing."""
        try:
            operation = decode_request_json(body)
        except ValueError:
            return None  # the route answers its 400
        if not isinstance(operation, dict):
            return None
        query = operation.get("query")
        if not isinstance(query, str):
            return None  # no text (an id), or the route's own 400
        breach = self.precheck.breach(query)
        if breach is None:
            return None
        name = operation.get("operationName")
        return DocumentBreach(query, name if isinstance(name, str) else None, breach)

    def refusal_answer(
        self, found: DocumentBreach, request_id: str | None
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """Status, headers and body of the refusal of ``found`` (what the route answers
        for the same document), its ``graphql_guard_refused`` event logged."""
        subject = RequestSubject({"request_id": request_id}, found.query, found.operation_name)
        refusal = self.precheck.refusal(subject, found.breach)
        body = encode_response_json({"data": None, "errors": [refusal.formatted]})
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        return 200, headers, body
