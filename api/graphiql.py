"""The GraphiQL page: who may see it, and the page itself (local assets, nonce CSP).

Assets (GraphiQL 3.9.0, React 18.3.1 UMD builds, from the npm registry; checksums in
``api/static/graphiql/SHA256SUMS``) are served from ``/static/graphiql/``: no CDN, so the
CSP can stay ``'self'`` + a per-response nonce, with no ``unsafe-inline``/``unsafe-eval``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Final

from litestar import MediaType, Response
from litestar.exceptions import NotFoundException
from litestar.router import Router
from litestar.static_files import create_static_files_router

from api.edge import csrf_cookie_name, html_csp, new_csp_nonce
from api.settings import Settings
from permissions.principal import Principal
from permissions.roles import Role

__all__ = ("ASSETS_PATH", "graphiql_assets_router", "graphiql_response", "may_see_graphiql")

ASSETS_PATH: Final = "/static/graphiql"
_ASSETS_DIR: Final = Path(__file__).parent / "static" / "graphiql"
_ROLES: Final = frozenset({Role.admin, Role.auditor})

_PAGE: Final = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>OpenDesk GraphiQL</title>
<link rel="stylesheet" href="{assets}/graphiql.min.css">
<style nonce="{nonce}">html, body, #graphiql {{ height: 100%; margin: 0; }}</style>
</head>
<body>
<div id="graphiql">Loading…</div>
<script nonce="{nonce}" src="{assets}/react.production.min.js"></script>
<script nonce="{nonce}" src="{assets}/react-dom.production.min.js"></script>
<script nonce="{nonce}" src="{assets}/graphiql.min.js"></script>
<script nonce="{nonce}">
const csrfCookie = {cookie_name};
function csrfToken() {{
  const pair = document.cookie.split("; ").find((c) => c.startsWith(csrfCookie + "="));
  return pair ? pair.slice(csrfCookie.length + 1) : "";
}}
// Each document goes with its SHA-256 (APQ): where the allowlist is enforced, what an
// admin runs here is registered for the admin role (and audited) instead of refused.
async function withHash(params) {{
  if (!window.crypto || !crypto.subtle || typeof params.query !== "string") return params;
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(params.query));
  const hex = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
  return {{...params, extensions: {{persistedQuery: {{version: 1, sha256Hash: hex}}}}}};
}}
async function fetcher(params) {{
  const response = await fetch("/graphql", {{
    method: "POST",
    credentials: "same-origin",
    headers: {{"content-type": "application/json", "x-csrf-token": csrfToken()}},
    body: JSON.stringify(await withHash(params)),
  }});
  return response.json();
}}
ReactDOM.createRoot(document.getElementById("graphiql"))
  .render(React.createElement(GraphiQL, {{fetcher: fetcher}}));
</script>
</body>
</html>
"""


def may_see_graphiql(settings: Settings, principal: Principal) -> bool:
    """``off``: nobody. ``open`` (refused in production): anybody. ``restricted``: a
    signed-in admin or auditor whose session has passed MFA."""
    if settings.graphiql == "off":
        return False
    if settings.graphiql == "open":
        return not settings.is_production
    return principal.kind == "user" and principal.role in _ROLES and principal.mfa_at is not None


def graphiql_response(settings: Settings, principal: Principal) -> Response[str]:
    """The page with a fresh nonce in its CSP; NotFoundException (404, as if there were
    no page) for anyone else, so its existence is not advertised."""
    if not may_see_graphiql(settings, principal):
        raise NotFoundException()
    nonce = new_csp_nonce()
    page = _PAGE.format(
        assets=ASSETS_PATH, nonce=nonce, cookie_name=json.dumps(csrf_cookie_name(settings.tls))
    )
    return Response(
        page,
        media_type=MediaType.HTML,
        headers={"content-security-policy": html_csp(nonce), "cache-control": "no-store"},
    )


def graphiql_assets_router() -> Router:
    """Serves the vendored files; a missing file is a plain 404."""
    return create_static_files_router(path=ASSETS_PATH, directories=[_ASSETS_DIR])
