"""The partners' marketing export: contacts of the key's organisation who consent to it.

Processing that needs a consent (GDPR art. 6(1)(a), 7): a partner key with the
``marketing:export`` scope gets the name and email address of exactly those active users
of its own organisation whose consent to ``marketing_email`` is in force now
(``privacy.consent``: a grant of the current text, not withdrawn). The consent filter is
part of the query, so no other user's row is ever read or decrypted.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass

from accounts.services.contact import opened_contacts
from accounts.tables import User
from core.errors import BadUserInput, Forbidden
from permissions.principal import Principal
from privacy.consent import consenting_subjects

MARKETING_SCOPE = "marketing:export"
MARKETING_PURPOSE = "marketing_email"
_CURSOR_PREFIX = "mc:"


@dataclass(frozen=True, slots=True)
class MarketingContact:
    id: uuid.UUID
    display_name: str
    email: str


@dataclass(frozen=True, slots=True)
class MarketingContactPage:
    contacts: list[MarketingContact]
    has_next_page: bool
    # After the last row read, which may be one left out (erased): never stuck.
    end_cursor: str | None


def contact_cursor(user_id: uuid.UUID) -> str:
    """Opaque keyset cursor: the last contact's id."""
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{user_id}".encode()).decode().rstrip("=")


def _after_id(cursor: str) -> uuid.UUID:
    if len(cursor) > 100:
        raise BadUserInput("Invalid cursor.", field="after")
    try:
        decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not decoded.startswith(_CURSOR_PREFIX):
            raise ValueError(decoded)
        return uuid.UUID(decoded.removeprefix(_CURSOR_PREFIX))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadUserInput("Invalid cursor.", field="after") from None


async def marketing_contacts(
    principal: Principal, *, first: int, max_page_size: int, after: str | None = None
) -> MarketingContactPage:
    """Consenting contacts of the partner's organisation, by id, keyset-paginated.

    Raises Forbidden unless the principal is a partner key with ``marketing:export``;
    a key bound to no organisation gets an empty page (it has no users to export).
    Users whose address cannot be read (erased) are left out.
    """
    if principal.kind != "partner" or MARKETING_SCOPE not in principal.scopes:
        raise Forbidden()
    if not 1 <= first <= max_page_size:
        raise BadUserInput(f"Must be between 1 and {max_page_size}.", field="first")
    after_id = _after_id(after) if after is not None else None
    consenting = await consenting_subjects(MARKETING_PURPOSE)
    if principal.organisation_id is None or consenting is None:
        return MarketingContactPage(contacts=[], has_next_page=False, end_cursor=None)
    query = User.select(User.id, User.display_name, User.email).where(
        User.organisation == principal.organisation_id,
        User.is_active == True,  # noqa: E712 - Piccolo builds SQL from the comparison
        User.id.is_in(consenting),
    )
    if after_id is not None:
        query = query.where(User.id > after_id)
    rows = await query.order_by(User.id).limit(first + 1)
    page = rows[:first]
    # Only the address is decrypted: the phone number is not needed for this purpose.
    opened = await opened_contacts([{**row, "phone": None} for row in page])
    contacts = [
        MarketingContact(row["id"], row["display_name"], email)
        for row in page
        if (email := opened[row["id"]][0]) is not None
    ]
    return MarketingContactPage(
        contacts=contacts,
        has_next_page=len(rows) > first,
        end_cursor=contact_cursor(page[-1]["id"]) if page else None,
    )
