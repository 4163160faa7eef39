"""Opaque keyset-pagination cursors: (created_at, id) of the last row seen."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime

from core.errors import BadUserInput

_MAX_CURSOR_LENGTH = 200


def encode_cursor(created_at: datetime, row_id: uuid.UUID) -> str:
    payload = json.dumps([created_at.isoformat(), str(row_id)], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, *, field: str = "after") -> tuple[datetime, uuid.UUID]:
    """Parse a cursor made by :func:`encode_cursor`; anything else is BAD_USER_INPUT."""
    if len(cursor) > _MAX_CURSOR_LENGTH:
        raise BadUserInput("Invalid cursor.", field=field)
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created_text, id_text = json.loads(base64.urlsafe_b64decode(padded.encode()))
        created_at = datetime.fromisoformat(created_text)
        row_id = uuid.UUID(id_text)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise BadUserInput("Invalid cursor.", field=field) from None
    if created_at.tzinfo is None:
        raise BadUserInput("Invalid cursor.", field=field)
    return created_at, row_id
