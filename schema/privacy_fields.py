"""Root fields for data subject requests (export, erasure). Thin: each calls one use case."""

from __future__ import annotations

import strawberry

from accounts.services import data_requests
from accounts.services.mfa import require_user
from accounts.services.users import set_contact_visibility
from accounts.tables import ContactVisibility
from core.errors import BadUserInput
from schema.action_limits import enforce_action_limits
from schema.context import Info
from schema.ids import parse_id
from schema.types.privacy import DataRequestType, DownloadLinkType
from schema.types.users import ContactVisibilityEnum, UserType

_PAGE_MAX = 100
_SECRET_MAX = 1024
_CODE_MAX = 64


async def _limit_requests(info: Info) -> None:
    """Exports and erasures are heavy and rare: a few a day per person
    (schema.action_limits); signed-in users only."""
    require_user(info.context.principal)
    await enforce_action_limits(info)


@strawberry.type
class PrivacyQuery:
    @strawberry.field(
        description="Your export and erasure requests, newest first; admins see everyone's, "
        "with the legal deadline and an overdue flag."
    )
    async def data_requests(
        self, info: Info, first: int = 20, open_only: bool = False
    ) -> list[DataRequestType]:
        if not 1 <= first <= _PAGE_MAX:
            raise BadUserInput(f"Must be between 1 and {_PAGE_MAX}.", field="first")
        records = await data_requests.data_requests(
            info.context.principal, limit=first, open_only=open_only
        )
        return [DataRequestType(record=record) for record in records]


@strawberry.type
class PrivacyMutation:
    @strawberry.mutation(
        description="Export all your data (GDPR arts. 15/20) as a JSON archive; poll "
        "dataRequests until it is ready, then ask for a download link."
    )
    async def export_my_data(self, info: Info) -> DataRequestType:
        context = info.context
        await _limit_requests(info)
        record = await data_requests.export_my_data(context.require_identity(), context.principal)
        return DataRequestType(record=record)

    @strawberry.mutation(
        description="Admins with a recent MFA check: export a user's data, with a reason; "
        "written to the audit trail."
    )
    async def export_user_data(
        self, info: Info, user_id: strawberry.ID, reason: str
    ) -> DataRequestType:
        context = info.context
        if len(reason) > 1000:
            raise BadUserInput("Must be at most 1000 characters.", field="reason")
        await _limit_requests(info)
        record = await data_requests.export_user_data(
            context.require_identity(),
            context.principal,
            user_id=parse_id(user_id, field="userId"),
            reason=reason,
            client_ip=context.client_ip,
            request_id=context.request_id,
        )
        return DataRequestType(record=record)

    @strawberry.mutation(
        description="A single-use link (valid for minutes) to a ready export of yours."
    )
    async def create_export_download_link(self, info: Info, id: strawberry.ID) -> DownloadLinkType:
        context = info.context
        link = await data_requests.download_link(
            context.require_identity(), context.principal, parse_id(id, field="id")
        )
        return DownloadLinkType(url=link.url, expires_in_seconds=link.expires_in_seconds)

    @strawberry.mutation(
        description="Ask for your account and data to be erased (GDPR art. 17). Needs your "
        "password (and a TOTP code when two-factor is on); runs after a grace period "
        "during which cancelErasure stops it."
    )
    async def request_erasure(
        self, info: Info, password: str, totp: str | None = None
    ) -> DataRequestType:
        context = info.context
        if len(password) > _SECRET_MAX:
            raise BadUserInput(f"Must be at most {_SECRET_MAX} characters.", field="password")
        if totp is not None and len(totp) > _CODE_MAX:
            raise BadUserInput(f"Must be at most {_CODE_MAX} characters.", field="totp")
        await _limit_requests(info)
        record = await data_requests.request_erasure(
            context.require_identity(),
            context.principal,
            password=password,
            totp=totp,
            client_ip=context.client_ip,
            request_id=context.request_id,
        )
        return DataRequestType(record=record)

    @strawberry.mutation(
        description="Your privacy setting: who besides staff sees your contact data."
    )
    async def set_contact_visibility(
        self,
        info: Info,
        visibility: ContactVisibilityEnum,  # type: ignore[valid-type]
    ) -> UserType:
        user_id = require_user(info.context.principal)
        record = await set_contact_visibility(user_id, ContactVisibility(visibility).value)
        return UserType(record=record)

    @strawberry.mutation(description="Stop your erasure while it is still in its grace period.")
    async def cancel_erasure(self, info: Info, id: strawberry.ID) -> DataRequestType:
        context = info.context
        record = await data_requests.cancel_erasure(
            context.require_identity(), context.principal, parse_id(id, field="id")
        )
        return DataRequestType(record=record)
