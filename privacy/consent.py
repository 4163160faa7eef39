"""Consent (GDPR art. 7): grant, withdraw, read one's own, and the check processing makes.

What counts as consent, everywhere: the subject's *latest* record for the purpose is a
grant of the purpose's *current* text version. Publishing a new version
(``privacy.consent_texts.publish_text``) therefore suspends every consent to the purpose
until the subject grants again; ``consents_of`` reports those as ``outdated`` so a client
knows to ask. ``has_consent`` and ``consenting_subjects`` are that one definition, for
processing that needs a consent (e.g. the partners' marketing export).

Records are append-only: each grant or withdrawal is a new row (whose, which version and
text hash, when, how) plus an audit event; nothing here updates or deletes a row. Erasure
deletes a subject's records (privacy.erasure, from the inventory's ``delete`` rule).

A change that changes nothing records nothing: granting the version already granted, or
withdrawing when no grant is in force (never granted, already withdrawn), returns the
state as it is. Withdrawal is always allowed and needs no text (art. 7(3): as easy as
giving consent); it withdraws the latest grant, an outdated one included.
"""

from __future__ import annotations

import hmac
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from piccolo.query.functions.aggregate import Max
from piccolo.query.methods.select import Select

from audit.trail import Actor, record_event
from core.errors import BadUserInput, Forbidden, Unauthenticated
from permissions.principal import Principal
from privacy.consent_tables import ConsentAction, ConsentRecord
from privacy.consent_texts import PurposeText, checked_purpose_key, current_text, current_texts

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_IN_CHUNK = 500


class ConsentStatus(StrEnum):
    granted = "granted"  # the latest record grants the current text: consent counts
    outdated = "outdated"  # granted an earlier text: does not count until granted again
    withdrawn = "withdrawn"
    not_given = "not_given"  # no record: never asked, or never answered


@dataclass(frozen=True, slots=True)
class ConsentState:
    """One subject's standing on one purpose. ``version`` … ``method`` describe the latest
    record (None without one)."""

    purpose: str
    status: ConsentStatus
    current_version: int
    version: int | None = None
    text_sha256: str | None = None
    changed_at: datetime | None = None
    method: str | None = None


@dataclass(frozen=True, slots=True)
class Channel:
    """How a change reached us: stored on the record and the audit event."""

    method: Literal["graphql", "cli"]
    request_id: str | None = None
    client_ip: Any = None


def subject_of(principal: Principal) -> uuid.UUID:
    """The signed-in user consenting for themselves. Raises Unauthenticated for anyone
    else (partners and anonymous callers have no consents), Forbidden for a user who must
    still enrol MFA (that is all such a session may do)."""
    if principal.kind != "user" or principal.user_id is None:
        raise Unauthenticated("Sign in first.")
    if principal.role is None:
        raise Forbidden()
    return principal.user_id


async def grant_consent(
    principal: Principal, *, purpose: str, version: int, text_sha256: str, channel: Channel
) -> ConsentState:
    """Record the caller's consent to ``version`` of ``purpose``, whose text the client
    showed and hashed. Raises BadUserInput naming ``purpose`` (unknown), ``version`` (not
    the current one: show the current text and ask again) or ``textSha256`` (not the hash
    of that text); never records a consent to anything but the current text."""
    subject_id = subject_of(principal)
    current = await _current(purpose)
    if version != current.version:
        raise BadUserInput(
            f"Version {version} is not the current text of {current.purpose} "
            f"(version {current.version}): show the current text and ask again.",
            field="version",
        )
    given = text_sha256.strip().lower()
    if not _SHA256_HEX.fullmatch(given):
        raise BadUserInput("Must be the hex SHA-256 of the text shown.", field="textSha256")
    if not hmac.compare_digest(given, current.text_sha256):
        raise BadUserInput(
            f"Not the SHA-256 of version {current.version} of {current.purpose}: show the "
            "text exactly as served and ask again.",
            field="textSha256",
        )
    latest = (await _latest_records(subject_id, [current.purpose])).get(current.purpose)
    state = _state(current, latest)
    if state.status is ConsentStatus.granted:
        return state
    row = await _append(subject_id, current.purpose, current.version, given, "granted", channel)
    return _state(current, row)


async def withdraw_consent(principal: Principal, *, purpose: str, channel: Channel) -> ConsentState:
    """Withdraw the caller's consent to ``purpose``; always allowed, idempotent. Raises
    BadUserInput (``purpose``) only for a purpose that does not exist."""
    subject_id = subject_of(principal)
    current = await _current(purpose)
    latest = (await _latest_records(subject_id, [current.purpose])).get(current.purpose)
    if latest is None or latest["action"] != ConsentAction.granted:
        return _state(current, latest)
    row = await _append(
        subject_id,
        current.purpose,
        latest["text_version"],
        latest["text_sha256"],
        "withdrawn",
        channel,
    )
    return _state(current, row)


async def purposes_for(principal: Principal, *, first: int = 50) -> list[PurposeText]:
    """The current text of every purpose (at most ``first``), for a signed-in user."""
    subject_of(principal)
    return (await current_texts())[:first]


async def consents_of(principal: Principal, *, first: int = 50) -> list[ConsentState]:
    """The caller's standing on every published purpose (at most ``first``), by purpose."""
    subject_id = subject_of(principal)
    texts = (await current_texts())[:first]
    latest = await _latest_records(subject_id, [text.purpose for text in texts])
    return [_state(text, latest.get(text.purpose)) for text in texts]


async def consenting_subjects(purpose: str) -> Select[ConsentRecord] | None:
    """A one-column sub-select of the subject ids that consent to ``purpose`` now, for
    processing that filters its own rows in SQL (``User.id.is_in(query)``); None when the
    purpose has no text yet (nobody consents)."""
    current = await current_text(purpose)
    if current is None:
        return None
    return _consenting(current, among=None)


async def has_consent(subject_ids: Iterable[uuid.UUID], purpose: str) -> set[uuid.UUID]:
    """Those of ``subject_ids`` that consent to ``purpose`` now (see the module's rule)."""
    wanted = sorted(set(subject_ids))
    current = await current_text(purpose)
    if current is None or not wanted:
        return set()
    consenting: set[uuid.UUID] = set()
    for start in range(0, len(wanted), _IN_CHUNK):
        chunk = wanted[start : start + _IN_CHUNK]
        rows = await _consenting(current, among=chunk)
        consenting.update(row["subject_id"] for row in rows)
    return consenting


async def _current(purpose: str) -> PurposeText:
    key = checked_purpose_key(purpose)
    current = await current_text(key)
    if current is None:
        raise BadUserInput("Unknown purpose.", field="purpose")
    return current


def _consenting(current: PurposeText, *, among: list[uuid.UUID] | None) -> Select[ConsentRecord]:
    latest = ConsentRecord.select(Max(ConsentRecord.id)).where(
        ConsentRecord.purpose == current.purpose
    )
    if among is not None:
        latest = latest.where(ConsentRecord.subject_id.is_in(among))
    return ConsentRecord.select(ConsentRecord.subject_id).where(
        ConsentRecord.id.is_in(latest.group_by(ConsentRecord.subject_id)),
        ConsentRecord.action == ConsentAction.granted.value,
        ConsentRecord.text_version == current.version,
    )


async def _latest_records(subject_id: uuid.UUID, purposes: list[str]) -> dict[str, dict[str, Any]]:
    if not purposes:
        return {}
    rows = (
        await ConsentRecord.select()
        .where(ConsentRecord.subject_id == subject_id, ConsentRecord.purpose.is_in(purposes))
        .order_by(ConsentRecord.id)
    )
    return {row["purpose"]: row for row in rows}  # later rows win


def _state(current: PurposeText, latest: dict[str, Any] | None) -> ConsentState:
    if latest is None:
        return ConsentState(current.purpose, ConsentStatus.not_given, current.version)
    if latest["action"] == ConsentAction.withdrawn:
        status = ConsentStatus.withdrawn
    elif latest["text_version"] == current.version:
        status = ConsentStatus.granted
    else:
        status = ConsentStatus.outdated
    return ConsentState(
        purpose=current.purpose,
        status=status,
        current_version=current.version,
        version=latest["text_version"],
        text_sha256=latest["text_sha256"],
        changed_at=latest["occurred_at"],
        method=latest["method"],
    )


async def _append(
    subject_id: uuid.UUID,
    purpose: str,
    version: int,
    digest: str,
    action: Literal["granted", "withdrawn"],
    channel: Channel,
) -> dict[str, Any]:
    """Insert one record and its audit event (ids, purpose and version only)."""
    row: dict[str, Any] = {
        "subject_id": subject_id,
        "purpose": purpose,
        "text_version": version,
        "text_sha256": digest,
        "action": action,
        "occurred_at": datetime.now(UTC),
        "method": channel.method,
        "request_id": channel.request_id[:64] if channel.request_id else None,
    }
    await ConsentRecord.insert(ConsentRecord(**row))
    await record_event(
        f"consent.{action}",
        actor=Actor("user", subject_id),
        client_ip=channel.client_ip,
        request_id=row["request_id"],
        target_type="consent_purpose",
        target_id=purpose,
        details={"purpose": purpose, "version": version, "textSha256": digest},
    )
    return row
