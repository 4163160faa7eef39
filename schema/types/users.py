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
    @strawberry.field
    def email(self) -> str | None:
        return self.record.email

    @strawberry.field
    def phone(self) -> str | None:
        return self.record.phone

    @strawberry.field
    def contact_visibility(self) -> ContactVisibilityEnum:  # type: ignore[valid-type]
        return ContactVisibility(self.record.contact_visibility)

    @strawberry.field
    async def organisation(self, info: Info) -> OrganisationType | None:
        if self.record.organisation_id is None:
            return None
        record = await info.context.loaders.organisations.load(self.record.organisation_id)
        return OrganisationType(record=record) if record else None
