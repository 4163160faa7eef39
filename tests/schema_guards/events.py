"""Capturing the guards' structlog events in tests."""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

from structlog.testing import capture_logs


@contextmanager
def guard_events() -> Iterator[list[MutableMapping[str, Any]]]:
    """Every log entry while active. Create apps before entering: create_app configures
    logging, which would take the capture out of the processor chain."""
    with capture_logs() as logs:
        yield logs


def named(logs: list[MutableMapping[str, Any]], event: str) -> list[MutableMapping[str, Any]]:
    return [entry for entry in logs if entry["event"] == event]
