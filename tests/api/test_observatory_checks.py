"""Each Observatory check on headers built by hand: the failures it must recognise."""

from __future__ import annotations

from api.observatory import Finding, Observed, Report, every_check

GOOD = {
    "content-security-policy": ["default-src 'none'; frame-ancestors 'none'"],
    "strict-transport-security": ["max-age=63072000; includeSubDomains"],
    "x-content-type-options": ["nosniff"],
    "referrer-policy": ["no-referrer"],
    "cross-origin-resource-policy": ["same-origin"],
    "cross-origin-opener-policy": ["same-origin"],
    "content-type": ["application/json"],
}


def _result(test: str, **changes: list[str]) -> Finding:
    headers = {**GOOD, **{name.replace("_", "-"): value for name, value in changes.items()}}
    findings = every_check(Observed(url="https://api.example/", headers=headers))
    return next(finding for finding in findings if finding.test == test)


def _html(body: str) -> Finding:
    headers = {**GOOD, "content-type": ["text/html"]}
    findings = every_check(Observed(url="https://api.example/", headers=headers, body=body))
    return next(finding for finding in findings if finding.test == "subresource-integrity")


def test_good_headers_score_a_plus_with_every_item_passing() -> None:
    findings = every_check(Observed(url="https://api.example/", headers=GOOD))
    report = Report(url="https://api.example/", status_code=200, findings=findings)

    assert report.every_item_passes
    assert (report.score, report.grade) == (130, "A+")


def test_csp_failures() -> None:
    assert _result("content-security-policy", content_security_policy=[]).modifier == -25
    unsafe = ["default-src 'self'; script-src 'self' 'unsafe-inline'"]
    assert _result("content-security-policy", content_security_policy=unsafe).modifier == -20
    evaluates = ["default-src 'self'; script-src 'self' 'unsafe-eval'"]
    assert _result("content-security-policy", content_security_policy=evaluates).modifier == -10
    broad = ["default-src 'none'; object-src https:"]
    assert not _result("content-security-policy", content_security_policy=broad).passed


def test_a_nonce_with_strict_dynamic_is_safe() -> None:
    policy = ["default-src 'none'; script-src 'nonce-abc' 'strict-dynamic' 'unsafe-inline'"]

    assert _result("content-security-policy", content_security_policy=policy).modifier == 10


def test_cookie_failures() -> None:
    session = ["sessionid=1; Secure; SameSite=Lax"]
    assert _result("cookies", set_cookie=session).result == "cookies-session-without-httponly-flag"
    plain = ["opendesk_session=1; HttpOnly; SameSite=Lax"]
    assert _result("cookies", set_cookie=plain).modifier == -10  # HSTS softens it
    csrf = ["csrftoken=1; Secure"]
    assert _result("cookies", set_cookie=csrf).result == "cookies-anticsrf-without-samesite-flag"


def test_cors_reflecting_any_origin_with_credentials_fails() -> None:
    origin = "https://http-observatory.security.mozilla.org"
    observed = Observed(
        url="https://api.example/",
        headers=GOOD,
        cors_headers={
            "access-control-allow-origin": [origin],
            "access-control-allow-credentials": ["true"],
        },
    )
    finding = every_check(observed)[2]

    assert (finding.test, finding.modifier) == ("cross-origin-resource-sharing", -50)


def test_redirection_results() -> None:
    def redirection(*chain: str) -> str:
        observed = Observed(url="https://api.example/", headers=GOOD, http_redirects=chain)
        return every_check(observed)[3].result

    assert redirection("https://api.example/") == "redirection-to-https"
    assert redirection("https://elsewhere.example/") == "redirection-off-host-from-http"
    assert redirection("http://a.example/", "https://api.example/") == (
        "redirection-not-to-https-on-initial-redirection"
    )
    assert redirection("http://api.example/x") == "redirection-not-to-https"
    answered = Observed(url="https://api.example/", headers=GOOD, http_answered=True)
    assert every_check(answered)[3].result == "redirection-missing"


def test_header_failures() -> None:
    assert (
        _result("strict-transport-security", strict_transport_security=["max-age=300"]).modifier
        == -10
    )
    assert _result("referrer-policy", referrer_policy=["unsafe-url"]).modifier == -5
    assert _result("x-content-type-options", x_content_type_options=[]).modifier == -5
    assert (
        _result("x-frame-options", content_security_policy=["default-src 'none'"]).modifier == -20
    )
    assert (
        _result("cross-origin-resource-policy", cross_origin_resource_policy=["x"]).modifier == -5
    )
    assert not _result("cross-origin-opener-policy", cross_origin_opener_policy=[]).passed


def test_subresource_integrity_on_html() -> None:
    assert _html("<p>no scripts</p>").modifier == 0
    assert _html('<script src="/static/app.js"></script>').passed
    assert _html('<script src="http://cdn.example/x.js"></script>').modifier == -50
    assert _html('<script src="https://cdn.example/x.js"></script>').modifier == -5
    with_integrity = '<script src="https://cdn.example/x.js" integrity="sha384-abc"></script>'
    assert _html(with_integrity).modifier == 5
