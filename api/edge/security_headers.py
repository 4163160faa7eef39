"""Browser-facing security headers on every HTTP response.

The API answers JSON to scripts, so the defaults forbid everything a document could do
(``default-src 'none'``, no framing, no caching). An HTML route (GraphiQL) sets its own
CSP from :func:`html_csp` with a per-response nonce; that one is kept.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Final

from api.edge._asgi import ASGIApp, Message, RawHeaders, Receive, Scope, Send

__all__ = ("SecurityHeadersConfig", "SecurityHeadersMiddleware", "html_csp", "new_csp_nonce")

PERMISSIONS_POLICY: Final = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "autoplay",
        "bluetooth",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "hid",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "publickey-credentials-get",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
)

_NONCE_PATTERN: Final = re.compile(r"[A-Za-z0-9+/_-]{16,128}={0,2}")


@dataclass(frozen=True, slots=True)
class SecurityHeadersConfig:
    """What :class:`SecurityHeadersMiddleware` adds.

    ``hsts`` should be on whenever the API is reached over HTTPS (always, in
    production); it is off by default so a plain-HTTP development server does not pin
    browsers to HTTPS for ``localhost``. ``csp_api`` is the policy for responses that
    set none. Raises ``ValueError`` for a negative max-age or a value that would break
    the header (CR/LF).
    """

    hsts: bool = False
    hsts_max_age: int = 63072000
    hsts_include_subdomains: bool = True
    csp_api: str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

    def __post_init__(self) -> None:
        if self.hsts_max_age < 0:
            raise ValueError("hsts_max_age must be >= 0")
        if not self.csp_api.strip() or any(char in self.csp_api for char in "\r\n\0"):
            raise ValueError("csp_api must be a non-empty single-line header value")


def new_csp_nonce() -> str:
    """A fresh, unguessable nonce (128 bits, URL-safe base64) for one HTML response."""
    return secrets.token_urlsafe(16)


def html_csp(nonce: str) -> str:
    """Content-Security-Policy for one HTML page whose scripts and styles carry ``nonce``.

    Scripts run only with the nonce (and what they load, via ``'strict-dynamic'``); no
    ``unsafe-inline`` or ``unsafe-eval``; fetches only to our origin; no plugins, no
    framing, no ``<base>``, no form posts. Raises ``ValueError`` unless ``nonce`` is
    16-128 base64 characters, so a caller cannot inject directives through it.
    """
    if not _NONCE_PATTERN.fullmatch(nonce):
        raise ValueError("nonce must be 16-128 base64 characters; use new_csp_nonce()")
    source = f"'nonce-{nonce}'"
    return (
        "default-src 'none'; "
        f"script-src {source} 'strict-dynamic'; "
        f"style-src 'self' {source}; "
        "connect-src 'self'; "
        "img-src 'self' data:; "
        "font-src 'self'; "
        "object-src 'none'; "
        "base-uri 'none'; "
        "form-action 'none'; "
        "frame-ancestors 'none'"
    )


class SecurityHeadersMiddleware:
    """ASGI middleware setting the security headers on every HTTP response.

    Always set (replacing any value the app chose, so a route cannot weaken them):
    ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer``,
    ``Permissions-Policy`` (all powerful features denied), ``Cross-Origin-Opener-Policy``
    and ``Cross-Origin-Resource-Policy: same-origin``, ``X-Frame-Options: DENY`` and,
    when configured, ``Strict-Transport-Security``. Set only when the app did not:
    ``Content-Security-Policy`` and ``Cache-Control: no-store``. Any ``Server`` header is
    removed (the ASGI server may add its own after us: turn that off in the server).
    Non-HTTP scopes pass through.
    """

    def __init__(self, app: ASGIApp, config: SecurityHeadersConfig | None = None) -> None:
        self.app = app
        self.config = config or SecurityHeadersConfig()
        enforced: list[tuple[bytes, bytes]] = [
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"permissions-policy", PERMISSIONS_POLICY.encode()),
            (b"cross-origin-opener-policy", b"same-origin"),
            (b"cross-origin-resource-policy", b"same-origin"),
            (b"x-frame-options", b"DENY"),
        ]
        if self.config.hsts:
            hsts = f"max-age={self.config.hsts_max_age}"
            if self.config.hsts_include_subdomains:
                hsts += "; includeSubDomains"
            enforced.append((b"strict-transport-security", hsts.encode()))
        self._enforced = tuple(enforced)
        self._defaults = (
            (b"content-security-policy", self.config.csp_api.encode()),
            (b"cache-control", b"no-store"),
        )
        self._replaced = frozenset(name for name, _ in enforced) | {b"server"}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = self.apply(message.get("headers", ()))
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def apply(self, headers: RawHeaders) -> list[tuple[bytes, bytes]]:
        """``headers`` as this layer sends them on (also for answers made before the app
        runs: api.edge.head_refusal)."""
        kept = [(name, value) for name, value in headers if name.lower() not in self._replaced]
        present = {name.lower() for name, _ in kept}
        kept.extend(self._enforced)
        kept.extend(header for header in self._defaults if header[0] not in present)
        return kept
