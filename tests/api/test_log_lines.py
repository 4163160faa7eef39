"""Each log line: one JSON object with an ISO 8601 UTC timestamp, readable by any
consumer (identifiers and dates as plain strings)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import structlog

from api.logging import UtcTimestamp, configure_logging, render_json


class Colour(StrEnum):
    RED = "red"


def test_the_timestamp_is_iso_utc_with_microseconds_as_structlog_writes_it() -> None:
    ours = UtcTimestamp()(None, "info", {})["timestamp"]
    structlogs = structlog.processors.TimeStamper(fmt="iso", utc=True)(None, "info", {})

    assert len(ours) == len(structlogs["timestamp"]) == len("2026-12-03T16:13:29.863210Z")
    assert ours.endswith("Z")
    moment = datetime.fromisoformat(ours)
    assert moment.tzinfo == UTC
    assert abs(datetime.now(UTC) - moment) < timedelta(seconds=5)


def test_consecutive_timestamps_never_go_back() -> None:
    stamp = UtcTimestamp()
    seen = [stamp(None, "info", {})["timestamp"] for _ in range(2000)]

    assert seen == sorted(seen)


def test_a_line_is_json_with_plain_identifiers_dates_and_enums() -> None:
    user = uuid.UUID("8a1d3c4e-0000-4000-8000-000000000001")
    event = {
        "event": "user_changed",
        "user_id": user,
        "at": datetime(2026, 12, 3, 16, 0, tzinfo=UTC),
        "colour": Colour.RED,
        "duration_ms": 5.201,
        "flags": ("a", "b"),
        "other": object,
    }

    line = render_json(None, "info", event)

    assert "\n" not in line
    assert json.loads(line) == {
        "event": "user_changed",
        "user_id": str(user),
        "at": "2026-12-03T16:00:00Z",
        "colour": "red",
        "duration_ms": 5.201,
        "flags": ["a", "b"],
        "other": "<class 'object'>",  # what cannot be encoded: its repr
    }


def test_the_configured_chain_ends_in_these_processors() -> None:
    configure_logging(debug=False)
    processors = structlog.get_config()["processors"]

    assert processors[-1] is render_json
    assert isinstance(processors[-2], UtcTimestamp)
