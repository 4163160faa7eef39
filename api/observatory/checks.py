"""Mozilla HTTP Observatory's tests, scored from one fetched response.

Each function mirrors one test of the MDN HTTP Observatory (``mdn/mdn-http-observatory``,
``src/analyzer/tests/``): same result names, same score modifiers
(``src/grader/charts.js``), same pass rule. They read only what a fetch gave back
(:class:`Observed`), so they can be tested without a network.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

SIX_MONTHS_SECONDS = 15_768_000

_BROAD = frozenset(
    {"ftp:", "http:", "https:", "*", "http://*", "http://*.*", "https://*", "https://*.*"}
)
_UNSAFE_INLINE = frozenset({"'unsafe-inline'", "data:"})
_NONCE_OR_HASH = ("'sha256-", "'sha384-", "'sha512-", "'nonce-")
_PRIVATE_REFERRER = frozenset(
    {"no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"}
)
_UNSAFE_REFERRER = frozenset(
    {"origin", "origin-when-cross-origin", "unsafe-url", "no-referrer-when-downgrade"}
)
_SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
_ATTRIBUTE = re.compile(r"""([a-zA-Z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")


@dataclass(frozen=True, slots=True)
class Observed:
    """What the scan saw: the final response to the URL and the plain-HTTP probe."""

    url: str
    headers: Mapping[str, Sequence[str]]  # lower-case name -> every value received
    body: str = ""
    # The answer to the same request sent with a foreign ``Origin`` (the CORS test).
    cors_headers: Mapping[str, Sequence[str]] = field(default_factory=dict)
    probe_origin: str = "https://http-observatory.security.mozilla.org"
    # The plain-HTTP attempt: None when nothing answered; else its redirect chain.
    http_redirects: tuple[str, ...] | None = None
    http_answered: bool = False

    @property
    def https(self) -> bool:
        return self.url.lower().startswith("https://")

    def header(self, name: str) -> str | None:
        values = self.headers.get(name, ())
        return ", ".join(values) if values else None


@dataclass(frozen=True, slots=True)
class Finding:
    """One Observatory test: its result name, score modifier and whether it passes."""

    test: str
    result: str
    modifier: int
    passed: bool
    note: str = field(default="")


def content_security_policy(observed: Observed) -> Finding:
    test = "content-security-policy"
    raw = observed.headers.get("content-security-policy", ())
    if not raw:
        return Finding(test, "csp-not-implemented", -25, False)
    csp = _parse_csp(raw)
    if csp is None:
        return Finding(test, "csp-header-invalid", -25, False)
    default = csp.get("default-src")
    script = set(csp.get("script-src") or default or {"*"})
    objects = set(csp.get("object-src") or default or {"*"})
    style = set(csp.get("style-src") or default or {"*"})
    for sources in (script, style):
        if any(s.startswith(_NONCE_OR_HASH) for s in sources):
            sources.discard("'unsafe-inline'")
    if "'strict-dynamic'" in script:
        if not any(s.startswith(_NONCE_OR_HASH) for s in script):
            return Finding(test, "csp-header-invalid", -25, False)
        script = {s for s in script if s not in _BROAD and s not in {"'self'", "'unsafe-inline'"}}
    passive_directives = ("img-src", "media-src")
    passive = {s for d in passive_directives for s in (csp.get(d) or default or ())}
    active = script | {
        source
        for directive, sources in csp.items()
        if directive not in {*passive_directives, "script-src"}
        for source in sources
    }
    insecure = ("http:", "ftp:")
    if script & (_BROAD | _UNSAFE_INLINE) or objects & _BROAD:
        return Finding(test, "csp-implemented-with-unsafe-inline", -20, False)
    if observed.https and any(s.startswith(insecure) for s in active):
        return Finding(test, "csp-implemented-with-insecure-scheme", -20, False)
    if "'unsafe-eval'" in script | style:
        return Finding(test, "csp-implemented-with-unsafe-eval", -10, False)
    if observed.https and any(s.startswith(insecure) for s in passive):
        result = "csp-implemented-with-insecure-scheme-in-passive-content-only"
        return Finding(test, result, -10, True)
    if style & (_BROAD | _UNSAFE_INLINE):
        return Finding(test, "csp-implemented-with-unsafe-inline-in-style-src-only", 0, True)
    if default == {"'none'"}:
        return Finding(test, "csp-implemented-with-no-unsafe-default-src-none", 10, True)
    return Finding(test, "csp-implemented-with-no-unsafe", 5, True)


def _parse_csp(values: Sequence[str]) -> dict[str, set[str]] | None:
    """Directives of every policy received (the first occurrence wins, as browsers do);
    None when a policy cannot be read."""
    directives: dict[str, set[str]] = {}
    for policy in (p.strip() for value in values for p in value.split(",")):
        for directive in filter(None, (d.strip() for d in policy.split(";"))):
            name, *sources = directive.split()
            if not re.fullmatch(r"[a-zA-Z-]+", name):
                return None
            directives.setdefault(name.lower(), {s.lower() for s in sources} or {"'none'"})
    return directives or None


def cookies(observed: Observed, *, hsts_passed: bool) -> Finding:
    test = "cookies"
    raw = observed.headers.get("set-cookie", ())
    if not raw:
        return Finding(test, "cookies-not-found", 0, True)
    # Worst first, as Observatory's ``goodness`` list ranks them.
    worst: list[tuple[int, str, int]] = []
    missing_samesite = False
    for cookie in raw:
        name, attributes = _parse_cookie(cookie)
        secure, httponly = "secure" in attributes, "httponly" in attributes
        samesite = attributes.get("samesite")
        session = any(part in name.lower() for part in ("login", "sess"))
        anticsrf = "csrf" in name.lower()
        if samesite is not None and samesite.lower() not in {"lax", "strict", "none"}:
            worst.append((3, "cookies-samesite-flag-invalid", -20))
        if not secure and (samesite or "").lower() == "none":
            worst.append((3, "cookies-samesite-flag-invalid", -20))
        if not secure:
            worst.append(
                (0, "cookies-without-secure-flag-but-protected-by-hsts", -5)
                if hsts_passed
                else (1, "cookies-without-secure-flag", -20)
            )
        if anticsrf and not samesite:
            worst.append((4, "cookies-anticsrf-without-samesite-flag", -20))
        if session and not secure:
            worst.append(
                (2, "cookies-session-without-secure-flag-but-protected-by-hsts", -10)
                if hsts_passed
                else (6, "cookies-session-without-secure-flag", -40)
            )
        if session and not httponly:
            worst.append((5, "cookies-session-without-httponly-flag", -30))
        missing_samesite = missing_samesite or not samesite
    if worst:
        _, result, modifier = max(worst)
        return Finding(test, result, modifier, False)
    if missing_samesite:
        return Finding(test, "cookies-secure-with-httponly-sessions", 0, True)
    return Finding(test, "cookies-secure-with-httponly-sessions-and-samesite", 5, True)


def _parse_cookie(raw: str) -> tuple[str, dict[str, str]]:
    name_value, *parts = raw.split(";")
    attributes = {}
    for part in parts:
        key, _, value = part.strip().partition("=")
        attributes[key.strip().lower()] = value.strip()
    return name_value.split("=", 1)[0].strip(), attributes


def cross_origin_resource_sharing(observed: Observed) -> Finding:
    test = "cross-origin-resource-sharing"
    allowed = ", ".join(observed.cors_headers.get("access-control-allow-origin", ())) or None
    credentials = ", ".join(observed.cors_headers.get("access-control-allow-credentials", ()))
    if allowed is None:
        return Finding(test, "cross-origin-resource-sharing-not-implemented", 0, True)
    if allowed.strip() == "*":
        return Finding(
            test, "cross-origin-resource-sharing-implemented-with-public-access", 0, True
        )
    if allowed.strip() == observed.probe_origin and credentials.strip().lower() == "true":
        result = "cross-origin-resource-sharing-implemented-with-universal-access"
        return Finding(test, result, -50, False)
    result = "cross-origin-resource-sharing-implemented-with-restricted-access"
    return Finding(test, result, 0, True)


def redirection(observed: Observed) -> Finding:
    test = "redirection"
    if not observed.https:
        return Finding(test, "redirection-missing", -20, False, "the scanned URL is plain HTTP")
    if observed.http_redirects is None:
        if observed.http_answered:
            return Finding(test, "redirection-missing", -20, False)
        return Finding(test, "redirection-not-needed-no-http", 0, True)
    first, final = observed.http_redirects[0], observed.http_redirects[-1]
    if not final.lower().startswith("https://"):
        return Finding(test, "redirection-not-to-https", -20, False)
    if not first.lower().startswith("https://"):
        return Finding(test, "redirection-not-to-https-on-initial-redirection", -10, False)
    if _host(first) != _host(observed.url):
        return Finding(test, "redirection-off-host-from-http", -5, False)
    return Finding(test, "redirection-to-https", 0, True)


def _host(url: str) -> str:
    return url.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0].lower()


def referrer_policy(observed: Observed) -> Finding:
    test = "referrer-policy"
    value = observed.header("referrer-policy")
    if value is None:
        return Finding(test, "referrer-policy-not-implemented", 0, True)
    # The last policy a browser recognises is the one it applies.
    known = [p for p in (t.strip().lower() for t in value.split(",")) if p]
    known = [p for p in known if p in _PRIVATE_REFERRER | _UNSAFE_REFERRER]
    if not known:
        return Finding(test, "referrer-policy-header-invalid", -5, False)
    if known[-1] in _PRIVATE_REFERRER:
        return Finding(test, "referrer-policy-private", 5, True)
    return Finding(test, "referrer-policy-unsafe", -5, False)


def strict_transport_security(observed: Observed) -> Finding:
    test = "strict-transport-security"
    if not observed.https:
        return Finding(test, "hsts-not-implemented-no-https", -20, False)
    value = observed.header("strict-transport-security")
    if value is None:
        return Finding(test, "hsts-not-implemented", -20, False)
    match = re.search(r"(?:^|;)\s*max-age\s*=\s*\"?(\d+)\"?\s*(?:;|$)", value.split(",")[0], re.I)
    if match is None:
        return Finding(test, "hsts-header-invalid", -20, False)
    if int(match.group(1)) < SIX_MONTHS_SECONDS:
        return Finding(test, "hsts-implemented-max-age-less-than-six-months", -10, False)
    return Finding(test, "hsts-implemented-max-age-at-least-six-months", 0, True)


def subresource_integrity(observed: Observed) -> Finding:
    test = "subresource-integrity"
    content_type = (observed.header("content-type") or "").lower()
    if "html" not in content_type:
        return Finding(test, "sri-not-implemented-response-not-html", 0, True)
    scripts = [_attributes(match.group(1)) for match in _SCRIPT_TAG.finditer(observed.body)]
    external = [s for s in scripts if s.get("src", "").startswith(("http:", "https:", "//"))]
    insecure = [s for s in external if not s["src"].startswith("https:")]
    with_integrity = [s for s in scripts if "src" in s and s.get("integrity")]
    if not any("src" in s for s in scripts):
        return Finding(test, "sri-not-implemented-but-no-scripts-loaded", 0, True)
    if insecure:
        if with_integrity:
            result = "sri-implemented-but-external-scripts-not-loaded-securely"
            return Finding(test, result, -20, False)
        result = "sri-not-implemented-and-external-scripts-not-loaded-securely"
        return Finding(test, result, -50, False)
    if external and not all(s.get("integrity") for s in external):
        result = "sri-not-implemented-but-external-scripts-loaded-securely"
        return Finding(test, result, -5, False)
    if with_integrity:
        result = (
            "sri-implemented-and-external-scripts-loaded-securely"
            if external
            else "sri-implemented-and-all-scripts-loaded-securely"
        )
        return Finding(test, result, 5, True)
    result = "sri-not-implemented-but-all-scripts-loaded-from-secure-origin"
    return Finding(test, result, 0, True)


def _attributes(tag_body: str) -> dict[str, str]:
    return {
        match.group(1).lower(): next(v for v in match.groups()[1:] if v is not None)
        for match in _ATTRIBUTE.finditer(tag_body)
    }


def x_content_type_options(observed: Observed) -> Finding:
    test = "x-content-type-options"
    value = observed.header("x-content-type-options")
    if value is None:
        return Finding(test, "x-content-type-options-not-implemented", -5, False)
    if value.strip().lower() != "nosniff":
        return Finding(test, "x-content-type-options-header-invalid", -5, False)
    return Finding(test, "x-content-type-options-nosniff", 0, True)


def x_frame_options(observed: Observed) -> Finding:
    test = "x-frame-options"
    csp = _parse_csp(observed.headers.get("content-security-policy", ())) or {}
    ancestors = csp.get("frame-ancestors")
    if ancestors is not None and not ancestors & _BROAD:
        return Finding(test, "x-frame-options-implemented-via-csp", 5, True)
    value = observed.header("x-frame-options")
    if value is None:
        return Finding(test, "x-frame-options-not-implemented", -20, False)
    normalised = value.strip().lower()
    if normalised in {"deny", "sameorigin"}:
        return Finding(test, "x-frame-options-sameorigin-or-deny", 0, True)
    if normalised.startswith("allow-from "):
        return Finding(test, "x-frame-options-allow-from-origin", 0, True)
    return Finding(test, "x-frame-options-header-invalid", -20, False)


def cross_origin_resource_policy(observed: Observed) -> Finding:
    test = "cross-origin-resource-policy"
    value = observed.header("cross-origin-resource-policy")
    if value is None:
        return Finding(test, "corp-not-implemented", 0, True)
    match value.strip().lower():
        case "same-origin":
            return Finding(test, "corp-implemented-with-same-origin", 10, True)
        case "same-site":
            return Finding(test, "corp-implemented-with-same-site", 10, True)
        case "cross-origin":
            return Finding(test, "corp-implemented-with-cross-origin", 0, True)
    return Finding(test, "corp-header-invalid", -5, False)


def cross_origin_opener_policy(observed: Observed) -> Finding:
    """Not scored by Observatory (modifier 0); checked because we promise it."""
    test = "cross-origin-opener-policy"
    value = (observed.header("cross-origin-opener-policy") or "").strip().lower()
    if value in {"same-origin", "same-origin-allow-popups", "noopener-allow-popups"}:
        return Finding(test, f"coop-implemented-with-{value}", 0, True)
    return Finding(test, "coop-not-implemented" if not value else "coop-header-invalid", 0, False)


def every_check(observed: Observed) -> tuple[Finding, ...]:
    """Every test, in Observatory's order, then COOP."""
    hsts = strict_transport_security(observed)
    return (
        content_security_policy(observed),
        cookies(observed, hsts_passed=hsts.passed),
        cross_origin_resource_sharing(observed),
        redirection(observed),
        referrer_policy(observed),
        hsts,
        subresource_integrity(observed),
        x_content_type_options(observed),
        x_frame_options(observed),
        cross_origin_resource_policy(observed),
        cross_origin_opener_policy(observed),
    )
