"""Who is calling: a partner API key (Bearer) or a browser session cookie, never input.

The one place the HTTP layer turns credentials into a Principal, and the one place that
writes and clears the session cookie.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.exceptions import NotAuthorizedException

from accounts.services.api_keys import authenticate_api_key
from accounts.services.authentication import resolve_session
from accounts.services.identity import Identity
from accounts.sessions import SessionRecord
from api.settings import Settings
from permissions.principal import ANONYMOUS, Principal

PLAIN_COOKIE = "opendesk_session"
# The __Host- prefix pins the cookie to this host, path / and Secure (only over TLS).
TLS_COOKIE = "__Host-opendesk_session"


def session_cookie_name(settings: Settings) -> str:
    return TLS_COOKIE if settings.tls else PLAIN_COOKIE


def session_token(request: Request[Any, Any, Any], settings: Settings) -> str | None:
    token = request.cookies.get(session_cookie_name(settings))
    return token or None


def principal_for_session(record: SessionRecord) -> Principal:
    return Principal(
        kind="user",
        user_id=record.user_id,
        role=record.role,
        organisation_id=record.organisation_id,
        session_id=record.public_id,
        authenticated_at=record.authenticated_at,
        mfa_at=record.mfa_at,
    )


async def authenticate(
    request: Request[Any, Any, Any],
    settings: Settings,
    identity: Identity,
    client_ip: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> Principal:
    """Bearer API key first (no ambient credentials); else the session cookie; else
    anonymous. A presented but invalid API key is a 401, never a silent downgrade."""
    authorization = request.headers.get("authorization")
    if authorization is not None:
        scheme, _, credential = authorization.partition(" ")
        principal = None
        if scheme.lower() == "bearer" and credential:
            principal = await authenticate_api_key(identity, credential.strip(), client_ip)
        if principal is None:
            raise NotAuthorizedException(detail="Invalid API key.")
        return principal
    token = session_token(request, settings)
    if token is None:
        return ANONYMOUS
    record = await resolve_session(identity, token)
    return principal_for_session(record) if record else ANONYMOUS


def set_session_cookie(response: Response[Any], settings: Settings, token: str) -> None:
    response.set_cookie(
        Cookie(
            key=session_cookie_name(settings),
            value=token,
            path="/",
            httponly=True,
            secure=settings.tls,
            samesite=settings.session_samesite,
            max_age=settings.session_lifetime_seconds,
        )
    )


def clear_session_cookie(response: Response[Any], settings: Settings) -> None:
    # Same attributes as when set: browsers ignore a __Host- cookie without Secure.
    response.set_cookie(
        Cookie(
            key=session_cookie_name(settings),
            value="",
            path="/",
            httponly=True,
            secure=settings.tls,
            samesite=settings.session_samesite,
            max_age=0,
        )
    )


class ResponseSessionCookie:
    """The schema's handle on this response's session cookie."""

    def __init__(self, response: Response[Any], settings: Settings) -> None:
        self._response = response
        self._settings = settings

    def set(self, token: str) -> None:
        set_session_cookie(self._response, self._settings, token)

    def clear(self) -> None:
        clear_session_cookie(self._response, self._settings)
