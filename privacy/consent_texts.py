"""Consent purposes and their texts: publish a new version, read the current ones.

A text is NFC-normalised and stripped (``core.text.clean_text``) before it is hashed and
stored; clients show ``text`` exactly as served and may check it against ``text_sha256``
(hex SHA-256 of its UTF-8 bytes), which is what a grant must echo back. A published text
never changes: publishing a different text makes the next version, which every consent
must then be given to again (``privacy.consent``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from audit.trail import Actor, record_event
from core.errors import BadUserInput
from core.text import clean_text
from privacy.consent_tables import ConsentPurpose, ConsentText

TEXT_MAX = 20_000
_PURPOSE_KEY = re.compile(r"[a-z][a-z0-9_]{1,63}")
_PUBLISH_ATTEMPTS = 5

PublishedVia = Literal["cli", "seed"]


@dataclass(frozen=True, slots=True)
class PurposeText:
    purpose: str
    version: int
    text: str
    text_sha256: str
    published_at: datetime


def text_sha256(text: str) -> str:
    """The hex SHA-256 of ``text``'s UTF-8 bytes: what a client hashes to prove what it showed."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def checked_purpose_key(purpose: str, *, field: str = "purpose") -> str:
    """``purpose`` if it is a well-formed key (``marketing_email``); else BadUserInput."""
    if len(purpose) > 64 or not _PURPOSE_KEY.fullmatch(purpose):
        raise BadUserInput(
            "A purpose is 2 to 64 lower-case letters, digits or underscores.", field=field
        )
    return purpose


async def publish_text(purpose: str, text: str, *, via: PublishedVia) -> PurposeText:
    """Publish ``text`` as the purpose's next version (creating the purpose if new).

    Idempotent: when the normalised text equals the current version's, nothing is
    published and the current version is returned (re-running a seed or a deployment
    script does not make everyone consent again). Raises BadUserInput (``purpose``,
    ``text``). Concurrent publishers each get a distinct version.
    """
    key = checked_purpose_key(purpose)
    clean = clean_text(text, field="text", max_length=TEXT_MAX, multiline=True)
    digest = text_sha256(clean)
    await ConsentPurpose.insert(ConsentPurpose(key=key, current_version=0)).on_conflict(
        target=ConsentPurpose.key, action="DO NOTHING"
    )
    for _attempt in range(_PUBLISH_ATTEMPTS):
        row = await ConsentPurpose.select().where(ConsentPurpose.key == key).first()
        if row is None:  # inserted above, and purposes with texts cannot be deleted
            raise RuntimeError(f"consent purpose {key} vanished while publishing")
        current = await current_text(key)
        if current is not None and current.text_sha256 == digest:
            return current
        published = await _insert_next(row, clean, digest, via)
        if published is not None:
            await record_event(
                "consent.text_published",
                actor=Actor("system"),
                target_type="consent_purpose",
                target_id=key,
                details={"purpose": key, "version": published.version, "textSha256": digest},
            )
            return published
    raise RuntimeError(f"could not publish a text of {key}: too many concurrent publishers")


async def _insert_next(
    purpose_row: dict[str, Any], text: str, digest: str, via: PublishedVia
) -> PurposeText | None:
    """Move the purpose to the next version and insert its text, in one transaction;
    None when another publisher moved it first (the caller reads again and retries)."""
    version = purpose_row["current_version"] + 1
    published_at = datetime.now(UTC)
    async with ConsentPurpose._meta.db.transaction():
        moved = (
            await ConsentPurpose.update({ConsentPurpose.current_version: version})
            .where(
                (ConsentPurpose.id == purpose_row["id"])
                & (ConsentPurpose.current_version == version - 1)
            )
            .returning(ConsentPurpose.id)
        )
        if not moved:
            return None
        await ConsentText.insert(
            ConsentText(
                purpose=purpose_row["id"],
                version=version,
                text=text,
                text_sha256=digest,
                published_at=published_at,
                published_via=via,
            )
        )
    return PurposeText(purpose_row["key"], version, text, digest, published_at)


async def current_text(purpose: str) -> PurposeText | None:
    """The text consent to ``purpose`` must be given to now; None for an unknown purpose
    or one without a text yet."""
    found = await current_texts([purpose])
    return found[0] if found else None


async def current_texts(purposes: Sequence[str] | None = None) -> list[PurposeText]:
    """The current text of every purpose (or of those named), ordered by purpose key."""
    query = ConsentPurpose.select(ConsentPurpose.id, ConsentPurpose.current_version).where(
        ConsentPurpose.current_version > 0
    )
    if purposes is not None:
        if not purposes:
            return []
        query = query.where(ConsentPurpose.key.is_in(list(purposes)))
    current = {(row["id"], row["current_version"]) for row in await query}
    if not current:
        return []
    rows = await ConsentText.select(
        ConsentText.purpose.key,
        ConsentText.purpose,
        ConsentText.version,
        ConsentText.text,
        ConsentText.text_sha256,
        ConsentText.published_at,
    ).where(
        ConsentText.purpose.is_in([purpose_id for purpose_id, _ in current]),
        ConsentText.version.is_in(sorted({version for _, version in current})),
    )
    texts = [
        PurposeText(
            row["purpose.key"],
            row["version"],
            row["text"],
            row["text_sha256"],
            row["published_at"],
        )
        for row in rows
        if (row["purpose"], row["version"]) in current
    ]
    return sorted(texts, key=lambda text: text.purpose)
