"""HTTP edge middleware: pure ASGI, framework-independent. See :func:`wrap_edge`."""

from api.edge.body_limit import BodyLimitMiddleware
from api.edge.client_ip import (
    CLIENT_IP_STATE_KEY,
    UNKNOWN_CLIENT_IP,
    ClientIPMiddleware,
    IPAddress,
    TrustedProxyConfig,
    client_ip_from_scope,
    resolve_client_ip,
)
from api.edge.content_type import GraphQLContentTypeMiddleware, is_allowed_graphql_post
from api.edge.request_id import (
    REQUEST_ID_HEADER,
    REQUEST_ID_STATE_KEY,
    RequestIDMiddleware,
    accept_request_id,
    new_request_id,
)
from api.edge.security_headers import (
    SecurityHeadersConfig,
    SecurityHeadersMiddleware,
    html_csp,
    new_csp_nonce,
)
from api.edge.stack import wrap_edge

__all__ = (
    "CLIENT_IP_STATE_KEY",
    "REQUEST_ID_HEADER",
    "REQUEST_ID_STATE_KEY",
    "UNKNOWN_CLIENT_IP",
    "BodyLimitMiddleware",
    "ClientIPMiddleware",
    "GraphQLContentTypeMiddleware",
    "IPAddress",
    "RequestIDMiddleware",
    "SecurityHeadersConfig",
    "SecurityHeadersMiddleware",
    "TrustedProxyConfig",
    "accept_request_id",
    "client_ip_from_scope",
    "html_csp",
    "is_allowed_graphql_post",
    "new_csp_nonce",
    "new_request_id",
    "resolve_client_ip",
    "wrap_edge",
)
