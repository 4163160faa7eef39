"""Structured JSON logs on stdout; request id bound per request by the edge middleware;
personal data and secrets redacted from every line (api.log_redaction)."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import MutableMapping
from datetime import UTC, datetime
from typing import Any

import msgspec
import structlog

from api.log_redaction import RedactingFilter, redact_event


def configure_logging(*, debug: bool) -> None:
    level = logging.DEBUG if debug else logging.INFO
    logging.basicConfig(format="%(message)s", stream=sys.stdout, level=level, force=True)
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactingFilter())
    # Refill the list in place: loggers cached on first use hold this very list, so a
    # second configuration (another app in the same process) reaches them too.
    processors = structlog.get_config()["processors"]
    processors[:] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.format_exc_info,
        # After everything a caller or an exception put in the event (the formatted
        # traceback too: api.log_redaction); the level and timestamp added after it are
        # structlog's own fixed-format values.
        redact_event,
        structlog.processors.add_log_level,
        UtcTimestamp(),
        render_json,
    ]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stdout),
        cache_logger_on_first_use=True,
    )


class UtcTimestamp:
    """``timestamp``: ISO 8601 in UTC with microseconds (``2026-12-03T16:13:29.863210Z``),
    as structlog's ``TimeStamper(fmt="iso", utc=True)`` writes it; the date and time
    part is formatted once per second, not per line (≈0.7 µs instead of ≈3.4 µs)."""

    __slots__ = ("_prefix", "_second")

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def __call__(
        self, _logger: Any, _method: str, event: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        now = time.time()
        second = int(now)
        if second != self._second:
            self._prefix = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            self._second = second
        event["timestamp"] = f"{self._prefix}.{int((now - second) * 1_000_000):06d}Z"
        return event


# msgspec, as for the API's responses (api/json_codec.py): ≈0.8 µs a line where the
# standard library's encoder takes ≈6. UUIDs, datetimes and enums are written as their
# plain JSON forms ("2026-…", not "UUID('…')"); anything else msgspec cannot encode as
# its repr, as structlog's JSONRenderer does.
_ENCODER = msgspec.json.Encoder(enc_hook=repr)


def render_json(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> str:
    """The last processor: the event as one line of JSON."""
    return _ENCODER.encode(event).decode()
