"""No personal data or secret reaches a log line: by field name, by shape, in tracebacks,
and through the libraries' stdlib loggers too; the identifiers the logs need survive."""

from __future__ import annotations

import json
import logging
import uuid

import pytest
import structlog

from api.log_redaction import (
    _ANY_PATTERN,
    _PATTERNS,
    REDACTED,
    RedactingFilter,
    _may_match,
    redact_event,
    redact_text,
)
from api.logging import configure_logging

API_KEY = "odk_0123456789ab_" + "S" * 43
SEALED = "v1.3f9a0c1d2e4b5a69.QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo"


@pytest.mark.parametrize(
    ("text", "kept", "gone"),
    [
        ("login failed for jane.doe+x@example.co.uk", "login failed for", "jane.doe"),
        # One address right after another (a URL-encoded list): both go.
        ("to=alice@example.org%20bob@example.org", "to=", "bob@"),
        ("to=alice@example.org+carol@example.org", "to=", "carol@"),
        (f"Authorization: Bearer {API_KEY}", "odk_0123456789ab_", "SSSSSSSS"),
        (f"key {API_KEY} revoked", "odk_0123456789ab_", "SSSSSSSS"),
        (f"stored {SEALED}", "stored", "QUJDREVGR0hJSktM"),
        ("call +44 20 7946 0123 now", "call", "7946"),
        ("password=hunter2 other=1", "other=1", "hunter2"),
        ('secret: "s3cr3t value"', "secret", "s3cr3t"),
        ("postgresql://app:pw@db.internal:5432/x", "postgresql://", "db.internal"),
    ],
)
def test_shapes_are_redacted_in_any_text(text: str, kept: str, gone: str) -> None:
    redacted = redact_text(text)

    assert gone not in redacted
    assert kept in redacted


def _every_substitution(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


@pytest.mark.parametrize(
    "text",
    [
        # One per pattern, in other cases and spacings than the shapes above.
        "BEARER abcdefgh12345678",
        "Basic   dXNlcjpwYXNzd29yZA==",
        "bearer odk_0123456789ab_" + "s" * 20,
        "TOKEN : 'quoted value'",
        "Passwd=x",
        "w1.7.keyid.QUJDREVGR0hJSktMTU5PUFFSU1RV",
        "a@b.c",
        "id_" + "a" * 300 + "@example.org",
        "v1.v1.v1.keyid.QUJDREVGR0hJSktMTU5PUFFSU1RV",
        "+1 (555) 010-9999",
        # Near misses: each pattern's anchor without the rest.
        "bearer short",
        "odk_short_",
        "v1.short",
        "user@localhost",
        "+12 3",
        "password",
        "tokens are fine",
        "",
        "/graphql",
        "2026-12-03T07:57:37.598280Z",
        # Case-insensitive matches by non-ASCII letters (long s, dotless i).
        "\u017fecret=hidden",
        "ba\u017f\u0131c dXNlcjpwYXNzd29yZA==",
        "PA\u017fSWORD: x",
        "TOKEN\u00a0=\u00a0x",
    ],
)
def test_the_one_pass_check_skips_only_text_no_pattern_changes(text: str) -> None:
    """redact_text skips the substitutions when no pattern can match; it must give what
    the six substitutions give, on matches and misses alike."""
    assert redact_text(text) == _every_substitution(text)
    if _ANY_PATTERN.search(text) is not None:
        assert _may_match(text)  # the cheap check never skips a match


@pytest.mark.parametrize(
    "text",
    [
        "login failed for jane.doe@example.org",
        f"Authorization: Bearer {API_KEY}",
        f"stored {SEALED}",
        "call +44 20 7946 0123 now",
        "password=hunter2",
        "\u017fecret=hidden",
        "/graphql",
        "",
    ],
)
def test_a_flat_line_is_redacted_as_field_by_field(text: str) -> None:
    """A line of flat values (the access log's shape) is judged in one pass first; it
    must come out exactly as each field redacted on its own."""
    event = {"event": "http_request", "status": 200, "ms": 1.5, "ok": True, "path": text}

    redacted = redact_event(None, "info", dict(event))

    assert redacted == {**event, "path": redact_text(text)}


def test_a_secret_field_name_in_a_flat_line_is_withheld() -> None:
    redacted = redact_event(None, "info", {"event": "x", "Api-Key": "plain", "status": 200})

    assert redacted == {"event": "x", "Api-Key": REDACTED, "status": 200}


def test_identifiers_the_logs_need_are_kept() -> None:
    request_id, user_id = uuid.uuid4().hex, str(uuid.uuid4())
    operation_hash = "a" * 64
    text = f"request {request_id} user {user_id} op {operation_hash} net 203.0.113.0/24 t=0.25"

    assert redact_text(text) == text


def test_secret_fields_are_withheld_at_any_depth() -> None:
    event = {
        "event": "login_attempt",
        "email": "jane@example.com",
        "details": {"password": "hunter2", "nested": [{"token": "abc"}, "mail me at a@b.io"]},
        "X-CSRF-Token": "t0k3n",
        "user_id": "42",
    }

    redacted = redact_event(None, "info", dict(event))

    assert redacted["email"] == REDACTED
    assert redacted["details"]["password"] == REDACTED
    assert redacted["details"]["nested"][0]["token"] == REDACTED
    assert redacted["details"]["nested"][1] == "mail me at [email]"
    assert redacted["X-CSRF-Token"] == REDACTED
    assert redacted["user_id"] == "42"
    assert redacted["event"] == "login_attempt"


def test_the_configured_chain_redacts_events_and_tracebacks() -> None:
    configure_logging(debug=False)
    processors = structlog.get_config()["processors"]
    assert redact_event in processors
    # Run the chain as a logger would (without printing: other tests' loggers share it).
    try:
        raise ValueError("no user jane@example.com with password=hunter2")
    except ValueError:
        event: object = {
            "event": "lookup_failed",
            "email": "jane@example.com",
            "note": f"key {API_KEY}",
            "exc_info": True,
        }
        for processor in processors:
            event = processor(None, "error", event)  # type: ignore[arg-type]

    assert isinstance(event, str)
    logged = json.loads(event)
    assert "jane@example.com" not in event
    assert "hunter2" not in event
    assert "SSSSSSSS" not in event
    assert logged["email"] == REDACTED
    assert "ValueError" in logged["exception"]


def test_stdlib_loggers_are_redacted_too(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.stdlib.redaction")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO, logger="test.stdlib.redaction"):
        logger.info("sent reset mail to %s with token=%s", "jane@example.com", "abc123def")

    assert caplog.records[-1].getMessage() == "sent reset mail to [email] with token=[redacted]"
