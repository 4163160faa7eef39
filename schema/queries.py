"""Root query fields: thin resolvers that call scoped services."""

from __future__ import annotations

import strawberry

from desk.services.tickets import get_ticket, list_tickets
from schema.context import Info
from schema.ids import parse_id
from schema.types.ip_blocks import IpBlockType, resolve_ip_blocks
from schema.types.tickets import TicketConnection, TicketStatusEnum, TicketType
from schema.types.users import UserType


@strawberry.type
class Query:
    @strawberry.field(description="The signed-in user, or null for anonymous callers.")
    async def me(self, info: Info) -> UserType | None:
        user_id = info.context.principal.user_id
        if user_id is None:
            return None
        record = await info.context.loaders.users.load(user_id)
        return UserType(record=record) if record else None

    @strawberry.field(description="A ticket visible to the caller, or null.")
    async def ticket(self, info: Info, id: strawberry.ID) -> TicketType | None:
        ticket_id = parse_id(id, field="id")
        record = await get_ticket(info.context.principal, ticket_id)
        return TicketType(record=record) if record else None

    @strawberry.field(description="Tickets visible to the caller, newest first.")
    async def tickets(
        self,
        info: Info,
        first: int,
        after: str | None = None,
        status: TicketStatusEnum | None = None,  # type: ignore[valid-type]
    ) -> TicketConnection:
        page = await list_tickets(
            info.context.principal,
            first=first,
            max_page_size=info.context.max_page_size,
            after=after,
            status=status,
        )
        return TicketConnection.from_page(page)

    ip_blocks: list[IpBlockType] = strawberry.field(
        resolver=resolve_ip_blocks, description="Admins: IP blocks, newest first."
    )
