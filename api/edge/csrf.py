"""CSRF protection for requests that carry ambient credentials (the session cookie).

Our own ASGI middleware rather than Litestar's ``CSRFConfig``, because that one checks
unsafe methods only, does not bind its token to the session, and runs only for matched
routes. Here:

* every request with the session cookie needs the token — GET included, since a GET
  query reads data with the victim's cookie; only page loads without a query string of
  the listed navigable paths (the GraphiQL page, its assets, ``/csrf``, health) are
  exempt, as a browser navigation cannot add a header;
* every unsafe-method request needs it even without a session: that covers the
  ``login`` mutation (login CSRF) without parsing GraphQL at the edge;
* requests with ``Authorization: Bearer`` are exempt: no ambient credentials;
* the token is a double-submit pair: the ``X-CSRF-Token`` header must equal the CSRF
  cookie, and the token must verify for this request's session (``csrf_tokens.py``);
* ``Origin`` / ``Sec-Fetch-Site`` must be our own origin or an allowlisted one when the
  browser sends them.

The cookie is (re)issued on any response whose request lacked a valid one for the
session the response leaves in place (including right after login and logout), and on
``GET /csrf``, which also returns the token as JSON for cross-origin frontends.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urlsplit

from api.edge._asgi import (
    ASGIApp,
    Message,
    Receive,
    Scope,
    Send,
    header_values,
    route_path,
    send_json_error,
)
from api.edge.csrf_tokens import CSRFKeys, issue_csrf_token, session_binding, verify_csrf_token

__all__ = ("CSRF_HEADER", "CSRFConfig", "CSRFMiddleware", "csrf_cookie_name")

CSRF_HEADER: Final = "x-csrf-token"
_SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
_FETCH_SITE_OWN: Final = frozenset({"same-origin", "none"})


def csrf_cookie_name(tls: bool) -> str:
    """``__Host-opendesk_csrf`` under TLS (host-only, path /, Secure), else plain."""
    return "__Host-opendesk_csrf" if tls else "opendesk_csrf"


@dataclass(frozen=True, slots=True)
class CSRFConfig:
    """What :class:`CSRFMiddleware` checks. ``allowed_origins`` are full origins
    (``https://app.example``) trusted besides our own; ``navigable_paths`` may be loaded
    with the session cookie but without the token when they have no query string."""

    keys: CSRFKeys
    session_cookie: str
    tls: bool = False
    allowed_origins: frozenset[str] = frozenset()
    token_path: str = "/csrf"  # noqa: S105 - a path, not a secret
    navigable_paths: frozenset[str] = frozenset({"/graphql", "/healthz", "/readyz", "/metrics"})
    navigable_prefixes: tuple[str, ...] = ("/static/",)
    cookie_name: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "cookie_name", csrf_cookie_name(self.tls))


@dataclass(frozen=True, slots=True)
class _Check:
    """What the layer decided about one request (before the app, if it runs, answers)."""

    session: str | None  # the session cookie's value, if exactly one was sent
    valid_cookie: str | None  # the CSRF cookie, if it verifies for that session
    token_request: bool = False  # GET of the token path: answered with the token
    refusal: str | None = None  # why it is refused (403), if it is


class CSRFMiddleware:
    """Refuses (403 ``CSRF_FAILED``, app not called) what the module docstring lists."""

    def __init__(self, app: ASGIApp, config: CSRFConfig) -> None:
        self.app = app
        self.config = config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        check = self._check(scope)
        if check.token_request:
            token = check.valid_cookie or issue_csrf_token(
                self.config.keys, session_binding(check.session)
            )
            await self._answer_token(send, token)
            return
        send = self._issuing(send, check.session, check.valid_cookie)
        if check.refusal is not None:
            await send_json_error(send, 403, check.refusal, "CSRF_FAILED")
            return
        await self.app(scope, receive, send)

    def lets_through_unchanged(self, scope: Scope) -> bool:
        """True when this layer would hand the request on and add nothing to an answer
        that sets no session (no refusal, no fresh cookie): what the server may assume
        before answering without the app (api.edge.document_refusal)."""
        check = self._check(scope)
        return not check.token_request and check.refusal is None and check.valid_cookie is not None

    def _check(self, scope: Scope) -> _Check:
        headers = scope.get("headers", ())
        cookies = _cookies(header_values(headers, b"cookie"))
        session_values = cookies.get(self.config.session_cookie, [])
        session = _single(session_values)
        presented = _single(cookies.get(self.config.cookie_name, []))
        # Two session cookies (tossed from a sibling host) make every token invalid.
        cookie_valid = (
            presented is not None
            and len(session_values) <= 1
            and verify_csrf_token(self.config.keys, presented, session_binding(session))
        )
        valid_cookie = presented if cookie_valid else None
        path = route_path(str(scope.get("path", "")))
        if path == self.config.token_path and scope.get("method") == "GET":
            return _Check(session, valid_cookie, token_request=True)
        refusal = None
        if self._needs_token(scope, headers, path, has_session=bool(session_values)):
            refusal = self._refusal(scope, headers, presented, cookie_valid)
        return _Check(session, valid_cookie, refusal=refusal)

    def _needs_token(
        self, scope: Scope, headers: Iterable[tuple[bytes, bytes]], path: str, *, has_session: bool
    ) -> bool:
        method = str(scope.get("method", "")).upper()
        if method == "OPTIONS":
            return False  # a CORS preflight carries no cookies and runs nothing
        authorization = header_values(headers, b"authorization")
        if len(authorization) == 1 and authorization[0][:7].lower() == "bearer ":
            return False
        if method not in _SAFE_METHODS:
            return True
        if not has_session:
            return False
        navigable = path in self.config.navigable_paths or path.startswith(
            self.config.navigable_prefixes
        )
        return not (navigable and not scope.get("query_string"))

    def _refusal(
        self,
        scope: Scope,
        headers: Iterable[tuple[bytes, bytes]],
        presented: str | None,
        cookie_valid: bool,
    ) -> str | None:
        """Why the request is refused, or None. Origin first: it needs no secret."""
        origins = header_values(headers, b"origin")
        origin = origins[0] if len(origins) == 1 else None
        if len(origins) > 1 or (origin is not None and not self._trusted_origin(scope, origin)):
            return "Cross-origin request refused."
        fetch_sites = header_values(headers, b"sec-fetch-site")
        foreign_site = bool(fetch_sites) and fetch_sites[0].strip().lower() not in _FETCH_SITE_OWN
        # same-site / cross-site: only an allowlisted Origin may come from elsewhere.
        if foreign_site and origin not in self.config.allowed_origins:
            return "Cross-site request refused."
        tokens = header_values(headers, CSRF_HEADER.encode())
        if len(tokens) != 1 or presented is None or not cookie_valid:
            return "CSRF token missing or invalid: send the X-CSRF-Token header (GET /csrf)."
        if not _constant_time_equal(tokens[0].strip(), presented):
            return "CSRF token missing or invalid: send the X-CSRF-Token header (GET /csrf)."
        return None

    def _trusted_origin(self, scope: Scope, origin: str) -> bool:
        if origin in self.config.allowed_origins:
            return True
        hosts = header_values(scope.get("headers", ()), b"host")
        if len(hosts) != 1 or origin == "null":
            return False
        scheme = "https" if self.config.tls else str(scope.get("scheme", "http"))
        parts = urlsplit(origin)
        return (
            parts.scheme == scheme
            and _netloc(parts.scheme, parts.netloc) == _netloc(scheme, hosts[0].lower())
            and not parts.path
        )

    def _issuing(self, send: Send, request_session: str | None, valid_cookie: str | None) -> Send:
        """Wrap ``send`` to add a fresh CSRF cookie when the client lacks a valid one for
        the session the response leaves in place."""
        config = self.config

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                new_session = _session_set_by(headers, config.session_cookie)
                if new_session is not None or valid_cookie is None:
                    session = request_session if new_session is None else new_session
                    token = issue_csrf_token(config.keys, session_binding(session))
                    headers.append((b"set-cookie", _cookie_header(config, token)))
                    message["headers"] = headers
            await send(message)

        return send_with_cookie

    async def _answer_token(self, send: Send, token: str) -> None:
        body = json.dumps({"csrfToken": token}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"set-cookie", _cookie_header(self.config, token)),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})


def _cookie_header(config: CSRFConfig, token: str) -> bytes:
    # Not HttpOnly: the same-origin frontend reads it to echo it. Strict: never sent on
    # cross-site navigations. No Max-Age: it lives as long as the browser session.
    attributes = f"{config.cookie_name}={token}; Path=/; SameSite=Strict"
    if config.tls:
        attributes += "; Secure"
    return attributes.encode("latin-1")


def _session_set_by(headers: Iterable[tuple[bytes, bytes]], name: str) -> str | None:
    """The session cookie value this response sets ("" when it clears it), or None."""
    prefix = f"{name}=".encode("latin-1")
    found: str | None = None
    for key, value in headers:
        if key.lower() == b"set-cookie" and value.startswith(prefix):
            cookie_value, _, attributes = value[len(prefix) :].partition(b";")
            cleared = re.search(rb"max-age=0(?:;|$)", attributes.lower().replace(b" ", b""))
            found = "" if cleared else cookie_value.decode("latin-1").strip('"')
    return found


def _cookies(values: Iterable[str]) -> dict[str, list[str]]:
    cookies: dict[str, list[str]] = {}
    for header in values:
        for pair in header.split(";"):
            name, separator, value = pair.strip().partition("=")
            if separator:
                cookies.setdefault(name, []).append(value.strip().strip('"'))
    return cookies


def _single(values: list[str]) -> str | None:
    # Two cookies of one name (cookie tossing from a sibling host) count as none.
    return values[0] if len(values) == 1 and values[0] else None


def _constant_time_equal(left: str, right: str) -> bool:
    return hmac.compare_digest(left.encode("latin-1", "replace"), right.encode("latin-1"))


def _netloc(scheme: str, netloc: str) -> str:
    default = {"http": ":80", "https": ":443"}.get(scheme, "")
    return netloc.removesuffix(default) if default else netloc
