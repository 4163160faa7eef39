"""The GraphQL endpoint accepts POST bodies only as ``application/json``; the one upload
route only as ``multipart/form-data`` with an ``X-CSRF-Token`` header.

Browsers send ``text/plain``, ``application/x-www-form-urlencoded`` and
``multipart/form-data`` cross-site without a CORS preflight ("simple requests"). Refusing
them before GraphQL runs means a forged form or ``fetch`` cannot execute a mutation with
the victim's cookies, whatever the GraphQL server would otherwise accept. JSON requires
a preflight, which CORS then refuses for foreign origins.
"""

from __future__ import annotations

import re
from typing import Final

from api.edge._asgi import (
    ASGIApp,
    Receive,
    Scope,
    Send,
    header_values,
    route_path,
    send_json_error,
)

__all__ = ("GraphQLContentTypeMiddleware", "is_allowed_graphql_post", "is_allowed_upload_post")

_CHARSET_PARAM: Final = re.compile(r'charset\s*=\s*(?:utf-8|"utf-8")', re.IGNORECASE)


def is_allowed_graphql_post(content_type_header: str | None) -> bool:
    """True only for ``application/json``, optionally with ``; charset=utf-8``.

    Case and surrounding whitespace are ignored; any other media type, any other
    parameter, a missing header or a malformed one gives False. Never raises.
    """
    if content_type_header is None:
        return False
    media_type, *params = content_type_header.split(";")
    if media_type.strip().lower() != "application/json":
        return False
    if len(params) > 1:
        return False
    return not params or bool(_CHARSET_PARAM.fullmatch(params[0].strip()))


def is_allowed_upload_post(content_type_header: str | None) -> bool:
    """True only for ``multipart/form-data`` with a boundary parameter. Never raises."""
    if content_type_header is None:
        return False
    media_type, _, params = content_type_header.partition(";")
    return media_type.strip().lower() == "multipart/form-data" and "boundary=" in params.lower()


class GraphQLContentTypeMiddleware:
    """ASGI middleware answering 415 to POSTs to ``path`` that are not JSON.

    The path is compared after collapsing repeated slashes and dropping a trailing
    slash (as the router does), so ``/graphql/`` and ``//graphql`` are checked too.
    Several ``Content-Type`` headers count as not JSON. The 415 is sent before the body
    is read; the app is not called. Other methods, paths and scopes pass through.
    """

    def __init__(
        self, app: ASGIApp, path: str = "/graphql", upload_path: str | None = None
    ) -> None:
        self.app = app
        self.path = route_path(path)
        self.upload_path = route_path(upload_path) if upload_path else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = self._refusal(scope)
        if refusal is not None:
            await send_json_error(send, *refusal)
            return
        await self.app(scope, receive, send)

    def refuses(self, scope: Scope) -> bool:
        """True when this layer answers the request itself (415, or 403 for an upload
        without the CSRF header)."""
        return self._refusal(scope) is not None

    def _refusal(self, scope: Scope) -> tuple[int, str, str] | None:
        """Status, message and code of this layer's answer to ``scope``, or ``None``."""
        is_post = scope["type"] == "http" and str(scope.get("method", "")).upper() == "POST"
        path = route_path(str(scope.get("path", ""))) if is_post else ""
        if is_post and path == self.upload_path:
            headers = scope.get("headers", ())
            content_types = header_values(headers, b"content-type")
            if len(content_types) != 1 or not is_allowed_upload_post(content_types[0]):
                return (
                    415,
                    "Unsupported content type: send multipart/form-data",
                    "UNSUPPORTED_MEDIA_TYPE",
                )
            # The custom header makes the request non-simple (a CORS preflight first),
            # and the CSRF layer then checks it: a cross-site form cannot upload.
            if len(header_values(headers, b"x-csrf-token")) != 1:
                return 403, "Uploads need the X-CSRF-Token header.", "CSRF_FAILED"
        elif is_post and path == self.path:
            content_types = header_values(scope.get("headers", ()), b"content-type")
            if len(content_types) != 1 or not is_allowed_graphql_post(content_types[0]):
                return (
                    415,
                    "Unsupported content type: send application/json",
                    "UNSUPPORTED_MEDIA_TYPE",
                )
        return None
