"""Plain values the accounts services hand upwards (never the password hash)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from permissions.roles import Role


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: uuid.UUID
    organisation_id: uuid.UUID | None
    display_name: str
    email: str | None  # None once the user's data key is destroyed (erased)
    phone: str | None
    role: Role
    is_active: bool
    created_at: datetime
    # "organisation" or "private" (accounts.tables.ContactVisibility); read by the field
    # policy's CONTACT_SHARED relation.
    contact_visibility: str = "private"
    # The email and phone still sealed (ciphertext), when the record was loaded without
    # opening them (the GraphQL users loader: contact data is decrypted only when a
    # contact field is asked for, accounts.services.contact.open_contacts_of); then
    # ``email``/``phone`` are None until opened. None: they were opened on load.
    sealed_contact: tuple[str | None, str | None] | None = None

    @classmethod
    def from_row(
        cls,
        row: dict[str, Any],
        email: str | None,
        phone: str | None,
        sealed_contact: tuple[str | None, str | None] | None = None,
    ) -> UserRecord:
        """``row`` from the users table; ``email``/``phone`` already decrypted (or None
        with ``sealed_contact`` the ciphertexts, see :meth:`with_sealed_contact`)."""
        return cls(
            id=row["id"],
            organisation_id=row["organisation"],
            display_name=row["display_name"],
            email=email,
            phone=phone,
            role=Role(row["role"]),
            is_active=bool(row["is_active"]),
            created_at=row["created_at"],
            # Not selected: shared with nobody (fail closed).
            contact_visibility=row.get("contact_visibility") or "private",
            sealed_contact=sealed_contact,
        )

    @classmethod
    def with_sealed_contact(cls, row: dict[str, Any]) -> UserRecord:
        """``row`` from the users table, its email and phone left sealed."""
        # Built in one go: dataclasses.replace on a frozen slotted record costs as much
        # again as building it, once per user a page loads.
        return cls.from_row(row, None, None, sealed_contact=(row["email"], row["phone"]))

    @property
    def contact_opened(self) -> bool:
        return self.sealed_contact is None


@dataclass(frozen=True, slots=True)
class OrganisationRecord:
    id: uuid.UUID
    name: str

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> OrganisationRecord:
        return cls(id=row["id"], name=row["name"])
