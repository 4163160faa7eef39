"""The edge middleware in its one correct order, wrapped around the whole ASGI app.

Wrap the ``Litestar`` instance itself rather than passing these as ``middleware=[...]``:
Litestar runs app-level middleware only for matched routes, so 404/405 answers from its
router would skip the security headers, request id, access log and body limit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from litestar.config.allowed_hosts import AllowedHostsConfig
from litestar.middleware.allowed_hosts import AllowedHostsMiddleware

from api.edge._asgi import ASGIApp
from api.edge.body_limit import BodyLimitMiddleware
from api.edge.client_ip import ClientIPMiddleware, TrustedProxyConfig
from api.edge.content_type import GraphQLContentTypeMiddleware
from api.edge.cors import CORSMiddleware, CORSPolicy
from api.edge.csrf import CSRFConfig, CSRFMiddleware
from api.edge.document_refusal import DocumentRefusal, DocumentScreening
from api.edge.head_refusal import HeadRefusal, HeadScreening
from api.edge.header_limit import HeaderLimitMiddleware
from api.edge.large_body_lane import LargeBodyLane, LargeBodyLaneConfig
from api.edge.request_id import RequestIDMiddleware
from api.edge.security_headers import SecurityHeadersConfig, SecurityHeadersMiddleware

__all__ = ("Edge", "wrap_edge")


@dataclass(frozen=True, slots=True)
class Edge:
    """The wrapped app, and the refusals the server may make before the app runs with
    the same layers' code: from a request's head (api.edge.head_refusal) and from its
    document (api.edge.document_refusal). Each ``None`` when a layer after the client IP
    cannot tell, without I/O, whether it would answer first; the second also when there
    are no document checks."""

    app: ASGIApp
    head_refusal: HeadRefusal | None
    document_refusal: DocumentRefusal | None = None


def wrap_edge(
    app: ASGIApp,
    *,
    proxies: TrustedProxyConfig,
    security_headers: SecurityHeadersConfig,
    max_body_bytes: int,
    graphql_path: str = "/graphql",
    upload_path: str | None = None,
    upload_max_body_bytes: int | None = None,
    after_client_ip: Sequence[Callable[[ASGIApp], ASGIApp]] = (),
    trust_incoming_request_id: bool = True,
    allowed_hosts: AllowedHostsConfig | None = None,
    cors: CORSPolicy | None = None,
    csrf: CSRFConfig | None = None,
    large_body_lane: LargeBodyLaneConfig | None = None,
    document_checks: Callable[[ASGIApp], ASGIApp] | None = None,
) -> Edge:
    """``app`` behind the edge middleware (:attr:`Edge.app`). Outermost first:

    security headers → request id + access log → header count/size (431) → allowed hosts
    (400) → CORS (preflights answered here) → client IP → ``after_client_ip`` (in the given
    order; e.g. the IP block list, which needs the client IP) → body limit → GraphQL content
    type → CSRF → ``document_checks`` (documents refused from their text alone:
    api.graphql_precheck; when the layer is a ``DocumentScreening``, the server may make its
    refusal itself: :attr:`Edge.document_refusal`) → large-body lane (bodies over its
    threshold served a few at a time; what the layers before it refuse never waits for it) →
    ``app``. ``upload_path`` is the one path that takes multipart bodies (with the CSRF
    header), up to ``upload_max_body_bytes``. The optional layers are left out when not
    given.

    Every answer from an inner layer (403, 413, 415, 503, 500) therefore carries the
    security headers and the request id, and is access-logged with the client IP.
    """
    wrapped: ASGIApp = LargeBodyLane(app, large_body_lane) if large_body_lane else app
    documents = None
    if document_checks is not None:
        wrapped = document_checks(wrapped)
        documents = wrapped if isinstance(wrapped, DocumentScreening) else None
    csrf_layer = None
    if csrf is not None:
        csrf_layer = wrapped = CSRFMiddleware(wrapped, csrf)
    content_type = wrapped = GraphQLContentTypeMiddleware(
        wrapped, path=graphql_path, upload_path=upload_path
    )
    per_path = {upload_path: upload_max_body_bytes} if upload_path and upload_max_body_bytes else {}
    drained = [upload_path] if upload_path else []  # files picked a little too big: a 413
    body_limit = BodyLimitMiddleware(wrapped, max_body_bytes, per_path, drained_paths=drained)
    wrapped = body_limit
    screening: list[HeadScreening] = []
    screened = True
    for factory in reversed(after_client_ip):
        wrapped = factory(wrapped)
        if isinstance(wrapped, HeadScreening):
            screening.append(wrapped)
        else:
            screened = False
    wrapped = ClientIPMiddleware(wrapped, proxies)
    cors_layer = wrapped = CORSMiddleware(wrapped, cors) if cors is not None else wrapped
    hosts_layer = None
    if allowed_hosts is not None:
        # Litestar's own check, but at the edge so 404/405 answers are covered too.
        hosts_layer = wrapped = AllowedHostsMiddleware(wrapped, allowed_hosts)
    header_limit = wrapped = HeaderLimitMiddleware(wrapped)
    request_id = wrapped = RequestIDMiddleware(wrapped, trust_incoming=trust_incoming_request_id)
    outermost = SecurityHeadersMiddleware(wrapped, security_headers)
    head_refusal = (
        HeadRefusal(
            security_headers=outermost,
            request_id=request_id,
            header_limit=header_limit,
            allowed_hosts=hosts_layer,
            cors=cors_layer if isinstance(cors_layer, CORSMiddleware) else None,
            proxies=proxies,
            screening=screening,
            body_limit=body_limit,
        )
        if screened
        else None
    )
    document_refusal = (
        DocumentRefusal(
            head=head_refusal,
            body_limit=body_limit,
            content_type=content_type,
            csrf=csrf_layer,
            documents=documents,
        )
        if head_refusal is not None and documents is not None
        else None
    )
    return Edge(outermost, head_refusal, document_refusal)
