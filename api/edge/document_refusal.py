"""The refusal of a document from its text, made by the server once the request's body is
complete, before the app runs.

A POST to ``/graphql`` whose document the precheck refuses from its text alone (too
long, brackets nested too deep: api.graphql_precheck) is answered by an edge layer after
CSRF. Made there, that answer cost the serving core 351 to 366 µs when such documents
arrive paced (PostgreSQL bench server): the request's task, a dozen ASGI layers each
wrapping ``send``, uvicorn's answer path. A canned answer written by the server protocol
cost about 60 µs (a scratch upper bound: no headers, no log lines); this one, the edge's
whole answer, 234 to 302 µs (bench/RESULTS.md, stop 27). So the server protocol
(api/server.py) holds back the app for a request :meth:`DocumentRefusal.may_refuse`
names until its body is complete, asks :meth:`DocumentRefusal.answer`, and writes what
it returns instead of starting the app; when it returns ``None`` (every request the
precheck lets through, and every one an earlier layer answers itself) the app runs on
the whole body as before.

The answer is the edge's own, made by the edge's own layers' code: the precheck's
status, body and ``graphql_guard_refused`` event, the headers the outer layers add
(security headers, ``X-Request-ID``, CORS for an allowlisted origin) and the access-log
line. It is made only when every layer before the precheck would let the request
through: the layers before the body limit as for the head refusal
(api.edge.head_refusal: header limits, allowed hosts, the blocked and known-over
addresses), the body limit, the content type, and CSRF with a valid token whose layer
would add no cookie to the answer. What differs is what differs for the head refusal:
the request is not charged to its address's per-request limit (so the answer carries
no ``RateLimit`` headers), and the block list is the copy in memory.

Held back are POSTs to the precheck's path with a ``Content-Length`` within the body
limit, or none (a chunked body, or no body), and no ``Expect`` (a client waiting for
``100 Continue`` would wait for an app that has not started): at most the bytes the body
limit would hold, read under the server's whole-request deadline. A chunked body that
grows past the limit is handed to the app as far as it came (:meth:`held_bytes_limit`),
and the edge answers it, as it does today. Chunked bodies are held too so that sending
one is no way around the cheaper refusal.
"""

from __future__ import annotations

import time
from typing import Any, Protocol, runtime_checkable

from api.edge._asgi import Scope, scope_state
from api.edge.body_limit import BodyLimitMiddleware
from api.edge.content_type import GraphQLContentTypeMiddleware
from api.edge.csrf import CSRFMiddleware
from api.edge.head_refusal import HeadAnswer, HeadRefusal

__all__ = ("DOCUMENT_JUDGED_STATE_KEY", "DocumentRefusal", "DocumentScreening")

# In a request's scope state when its whole body was judged here and nothing found: the
# edge's document layer hands the same body on without judging it again.
DOCUMENT_JUDGED_STATE_KEY = "opendesk.document_judged"


@runtime_checkable
class DocumentScreening(Protocol):
    """The edge layer (``wrap_edge``'s ``document_checks``) that refuses documents from
    their text, asked by :class:`DocumentRefusal` with its own code."""

    def judges(self, scope: Scope) -> bool:
        """True for the requests it reads and may refuse."""
        ...

    def breach_of(self, body: bytes) -> Any | None:
        """What it would refuse in ``body``, or ``None``; logs nothing."""
        ...

    def refusal_answer(self, found: Any, request_id: str) -> HeadAnswer:
        """Its answer to what :meth:`breach_of` found, its refusal event logged."""
        ...


class DocumentRefusal:
    """Built by :func:`api.edge.stack.wrap_edge` from the layers it wraps the app in."""

    def __init__(
        self,
        *,
        head: HeadRefusal,
        body_limit: BodyLimitMiddleware,
        content_type: GraphQLContentTypeMiddleware,
        csrf: CSRFMiddleware | None,
        documents: DocumentScreening,
    ) -> None:
        self._head = head
        self._body_limit = body_limit
        self._content_type = content_type
        self._csrf = csrf
        self._documents = documents

    def may_refuse(self, scope: Scope) -> bool:
        """True when the app should wait for this request's whole body, which
        :meth:`answer` may then refuse (see the module docstring for which requests).
        ``scope``: the HTTP scope with the request's method, path and headers."""
        if not self._documents.judges(scope):
            return False
        headers = scope["headers"]
        for name, _value in headers:
            if name == b"expect":
                return False
        return self._body_limit.admits(scope["path"], headers, 0)

    def held_bytes_limit(self, scope: Scope) -> int:
        """How much of a held body the server keeps before it hands the request to the
        app (the body limit, which then answers 413): only a chunked body can get there."""
        return self._body_limit.limit_for(str(scope["path"]))

    def answer(self, scope: Scope, body: bytes) -> HeadAnswer | None:
        """The edge's answer to this request if it is the precheck's refusal (logged
        here), else ``None``: the app then runs as usual, on this ``body`` (the whole
        body), which it marks as judged when the precheck found nothing in it."""
        found = self._documents.breach_of(body)
        if found is None:  # the usual case, judged first: it costs the least
            scope_state(scope)[DOCUMENT_JUDGED_STATE_KEY] = True
            return None
        started = time.perf_counter()
        headers = scope["headers"]
        method, path = str(scope["method"]), str(scope["path"])
        client = scope.get("client")
        if not self._body_limit.admits(path, headers, len(body)):
            return None
        address = self._head.admitted_address(method, headers, client[0] if client else None)
        if (
            address is None
            or self._content_type.refuses(scope)
            or (self._csrf is not None and not self._csrf.lets_through_unchanged(scope))
        ):
            return None
        request_id = self._head.request_id_for(headers)
        status, answer_headers, answer_body = self._documents.refusal_answer(found, request_id)
        dressed = self._head.dressed(answer_headers, headers, request_id)
        self._head.log_answer(method, path, status, started, request_id, address)
        return status, dressed, answer_body
