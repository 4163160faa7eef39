"""User and organisation types."""

from __future__ import annotations

import strawberry

from accounts.records import OrganisationRecord, UserRecord
from accounts.tables import ContactVisibility
from permissions.roles import Role
from schema.context import Info

RoleEnum = strawberry.enum(Role, name="Role")
ContactVisibilityEnum = strawberry.enum(
    ContactVisibility,
    name="ContactVisibility",
    description="Who besides the staff working your tickets sees your contact data "
    "(masked): organisation = your colleagues; private = nobody.",
)


@strawberry.type(name="Organisation")
class OrganisationType:
    record: strawberry.Private[OrganisationRecord]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.record.id))

    @strawberry.field
    def name(self) -> str:
        return self.record.name


@strawberry.type(name="User")
class UserType:
    record: strawberry.Private[UserRecord]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.record.id))

    @strawberry.field
    def display_name(self) -> str:
        return self.record.display_name

    @strawberry.field
    def role(self) -> RoleEnum:  # type: ignore[valid-type]
        return self.record.role

    # Who sees contact data, and masked how, is the field policy's (permissions.policy).
    # Decrypted only here, when asked for (batched per request by the contacts loader).
    @strawberry.field
    async def email(self, info: Info) -> str | None:
        return (await _contact(self.record, info))[0]

    @strawberry.field
    async def phone(self, info: Info) -> str | None:
        return (await _contact(self.record, info))[1]

    @strawberry.field
    def contact_visibility(self) -> ContactVisibilityEnum:  # type: ignore[valid-type]
        return ContactVisibility(self.record.contact_visibility)

    @strawberry.field
    async def organisation(self, info: Info) -> OrganisationType | None:
        if self.record.organisation_id is None:
            return None
        record = await info.context.loaders.organisations.load(self.record.organisation_id)
        return OrganisationType(record=record) if record else None


async def _contact(record: UserRecord, info: Info) -> tuple[str | None, str | None]:
    if record.contact_opened:
        return record.email, record.phone
    return await info.context.loaders.contacts.load(record)
