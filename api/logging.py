"""Structured JSON logs on stdout; request id bound per request by the edge middleware;
personal data and secrets redacted from every line (api.log_redaction)."""

from __future__ import annotations

import logging
import sys

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
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.JSONRenderer(),
    ]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stdout),
        cache_logger_on_first_use=True,
    )
