"""The edge's host, CORS and CSRF policies, built from settings (wired by ``create_app``)."""

from __future__ import annotations

from typing import Any

from litestar.config.allowed_hosts import AllowedHostsConfig

from api.edge import CORSPolicy, CSRFConfig, KeyringCSRFKeys
from api.identity import session_cookie_name
from api.settings import Settings
from privacy.crypto import Keyring

__all__ = ("allowed_host_values", "edge_policies")


def allowed_host_values(settings: Settings) -> list[str]:
    """``settings.allowed_hosts`` plus each port-less one with the serve port.

    Litestar compares the whole ``Host`` header, port included, so ``127.0.0.1`` alone
    would refuse ``Host: 127.0.0.1:8000``. Other ports must be listed with the port.
    """
    values = list(settings.allowed_hosts)
    for host in settings.allowed_hosts:
        has_port = "]:" in host if host.startswith("[") else ":" in host
        if not has_port and host != "*":
            values.append(f"{host}:{settings.port}")
    return values


def edge_policies(settings: Settings, keyring: Keyring) -> dict[str, Any]:
    """Keyword arguments for :func:`api.edge.wrap_edge`: the host allowlist (in every
    environment), CORS for ``settings.cors_allowed_origins`` only, and CSRF bound to the
    session cookie with keys derived from ``keyring``."""
    origins = frozenset(settings.cors_allowed_origins)
    return {
        "allowed_hosts": AllowedHostsConfig(allowed_hosts=allowed_host_values(settings)),
        "cors": CORSPolicy(allowed_origins=origins),
        "csrf": CSRFConfig(
            keys=KeyringCSRFKeys(keyring),
            session_cookie=session_cookie_name(settings),
            tls=settings.tls,
            allowed_origins=origins,
        ),
    }
