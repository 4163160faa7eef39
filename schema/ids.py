"""GraphQL IDs are UUIDs; anything else is a clean BAD_USER_INPUT, not a 500."""

from __future__ import annotations

import uuid

from core.errors import BadUserInput


def parse_id(value: str, *, field: str) -> uuid.UUID:
    if len(value) > 64:
        raise BadUserInput("Invalid id.", field=field)
    try:
        return uuid.UUID(value)
    except ValueError:
        raise BadUserInput("Invalid id.", field=field) from None
