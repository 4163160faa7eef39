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
from api.edge.cors import CORSMiddleware, CORSPolicy
from api.edge.csrf import CSRF_HEADER, CSRFConfig, CSRFMiddleware, csrf_cookie_name
from api.edge.csrf_tokens import KeyringCSRFKeys, issue_csrf_token, verify_csrf_token
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
    "CSRF_HEADER",
    "REQUEST_ID_HEADER",
    "REQUEST_ID_STATE_KEY",
    "UNKNOWN_CLIENT_IP",
    "BodyLimitMiddleware",
    "CORSMiddleware",
    "CORSPolicy",
    "CSRFConfig",
    "CSRFMiddleware",
    "ClientIPMiddleware",
    "GraphQLContentTypeMiddleware",
    "IPAddress",
    "KeyringCSRFKeys",
    "RequestIDMiddleware",
    "SecurityHeadersConfig",
    "SecurityHeadersMiddleware",
    "TrustedProxyConfig",
    "accept_request_id",
    "client_ip_from_scope",
    "csrf_cookie_name",
    "html_csp",
    "is_allowed_graphql_post",
    "issue_csrf_token",
    "new_csp_nonce",
    "new_request_id",
    "resolve_client_ip",
    "verify_csrf_token",
    "wrap_edge",
)
