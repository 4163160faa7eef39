"""Data subject requests from the people they are about (and from admins): export
(arts. 15/20) and erasure (art. 17), tracked against their legal deadline.

The work itself (``run_request``) runs off the request path, in the serving process's
background runner or in ``opendesk privacy run``; it is safe to run twice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from accounts.services import authenticators, second_factor
from accounts.services.authenticators import Authenticator
from accounts.services.identity import Identity
from accounts.services.mfa import require_recent_mfa, require_user
from accounts.services.users import get_user
from accounts.tables import User
from audit.trail import Actor, record_event
from core.errors import BadUserInput, Forbidden, NotFound
from core.text import clean_text
from permissions.principal import Principal
from permissions.roles import Role
from privacy import requests
from privacy.request_tables import RequestKind
from privacy.requests import RequestRecord

REASON_MIN, REASON_MAX = 10, 500
DOWNLOAD_PATH = "/privacy/downloads/"


@dataclass(frozen=True, slots=True)
class DownloadLink:
    url: str
    expires_in_seconds: int


async def export_my_data(identity: Identity, principal: Principal) -> RequestRecord:
    """Start an export of the caller's own data (or return the one already under way)."""
    user_id = require_user(principal)
    existing = await requests.open_request(RequestKind.export, user_id)
    if existing is not None:
        return existing
    return await requests.create_request(
        RequestKind.export, subject_id=user_id, requested_by=user_id, now=identity.now()
    )


async def export_user_data(
    identity: Identity,
    principal: Principal,
    *,
    user_id: uuid.UUID,
    reason: str,
    client_ip: Any = None,
    request_id: str | None = None,
) -> RequestRecord:
    """An admin exports a user's data (e.g. answering a request made by letter): needs
    a recent MFA check and a reason; written to the audit trail before it starts."""
    admin_id = require_recent_mfa(identity, principal)
    if principal.role is not Role.admin:
        raise Forbidden()
    clean_reason = clean_text(
        reason, field="reason", min_length=REASON_MIN, max_length=REASON_MAX, multiline=True
    )
    if await get_user(user_id) is None:
        raise NotFound()
    record = await requests.create_request(
        RequestKind.export, subject_id=user_id, requested_by=admin_id, now=identity.now()
    )
    await record_event(
        "personal_data.export_requested",
        actor=Actor("user", admin_id),
        client_ip=client_ip,
        request_id=request_id,
        target_type="user",
        target_id=str(user_id),
        details={"data_request": str(record.id), "reason": clean_reason},
    )
    return record


async def request_erasure(
    identity: Identity,
    principal: Principal,
    *,
    password: str,
    totp: str | None,
    client_ip: Any = None,
    request_id: str | None = None,
) -> RequestRecord:
    """The caller asks for their account to be erased. Re-authentication: the password,
    and a TOTP code when MFA is on. The erasure waits out the grace period (cancellable)."""
    user_id = require_user(principal)
    await _reauthenticate(identity, user_id, password=password, totp=totp)
    existing = await requests.open_request(RequestKind.erasure, user_id)
    if existing is not None:
        return existing
    now = identity.now()
    record = await requests.create_request(
        RequestKind.erasure,
        subject_id=user_id,
        requested_by=user_id,
        now=now,
        not_before=now + timedelta(days=identity.config.erasure_grace_days),
    )
    await record_event(
        "personal_data.erasure_requested",
        actor=Actor("user", user_id),
        client_ip=client_ip,
        request_id=request_id,
        target_type="data_request",
        target_id=str(record.id),
        details={"not_before": record.not_before.isoformat() if record.not_before else None},
    )
    return record


async def cancel_erasure(
    identity: Identity, principal: Principal, data_request_id: uuid.UUID
) -> RequestRecord:
    """Cancel one's own erasure during its grace period; NotFound otherwise."""
    user_id = require_user(principal)
    if not await requests.cancel_waiting_erasure(data_request_id, user_id, identity.now()):
        raise NotFound()
    await record_event(
        "personal_data.erasure_cancelled",
        actor=Actor("user", user_id),
        target_type="data_request",
        target_id=str(data_request_id),
    )
    record = await requests.get_request(data_request_id)
    assert record is not None  # noqa: S101 - just updated
    return record


async def data_requests(
    principal: Principal, *, limit: int, open_only: bool = False
) -> list[RequestRecord]:
    """One's own requests; every request for admins (who answer for the deadlines)."""
    user_id = require_user(principal)
    subject = None if principal.role is Role.admin else user_id
    return await requests.list_requests(subject_id=subject, limit=limit, open_only=open_only)


async def download_link(
    identity: Identity, principal: Principal, data_request_id: uuid.UUID
) -> DownloadLink:
    """A single-use, short-lived link to a ready export, for its subject or for the admin
    who asked for it. NotFound when there is nothing (ready) to download for the caller."""
    user_id = require_user(principal)
    record = await requests.get_request(data_request_id)
    if record is None or record.kind is not RequestKind.export:
        raise NotFound()
    if user_id not in (record.subject_id, record.requested_by):
        raise NotFound()
    if record.subject_id != user_id:
        # Someone else's data (an admin's export for a user): step-up, as to ask for it.
        require_recent_mfa(identity, principal)
    token = await requests.new_download_link(data_request_id, identity.now())
    if token is None:
        raise BadUserInput("This export is not ready, or has expired.", field="id")
    # Whoever takes a copy of the data out, when: in the trail (never the token).
    await record_event(
        "personal_data.export_link_created",
        actor=Actor("user", user_id),
        target_type="data_request",
        target_id=str(data_request_id),
        details={"subject": str(record.subject_id)},
    )
    lifetime = int(requests.DOWNLOAD_LINK_LIFETIME.total_seconds())
    return DownloadLink(url=f"{DOWNLOAD_PATH}{token}", expires_in_seconds=lifetime)


async def _reauthenticate(
    identity: Identity, user_id: uuid.UUID, *, password: str, totp: str | None
) -> None:
    user = (
        await User.select(
            User.id,
            User.password_hash,
            User.mfa_enabled,
            User.totp_secret_sealed,
            User.totp_last_step,
        )
        .where(User.id == user_id)
        .first()
    )
    if user is None:
        raise NotFound()
    verified = await identity.hasher.verify(user["password_hash"] or "", password)
    if not verified.ok:
        await authenticators.record_failure(
            user_id, Authenticator.password, config=identity.config, now=identity.now()
        )
        raise BadUserInput("The password is not correct.", field="password")
    if user["mfa_enabled"]:
        if not totp:
            raise BadUserInput("A code from your authenticator app is needed.", field="totp")
        await second_factor.verify(identity, user, totp=totp, recovery_code=None)
