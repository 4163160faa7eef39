"""Root mutation fields: input types validate shape; services validate meaning."""

from __future__ import annotations

import strawberry

from desk.services.comments import add_comment
from desk.services.tickets import create_ticket, update_ticket_status
from desk.tables import TicketPriority
from schema.context import Info
from schema.ids import parse_id
from schema.types.ip_blocks import IpBlockType, resolve_block_ip, resolve_unblock_ip
from schema.types.tickets import CommentType, TicketPriorityEnum, TicketStatusEnum, TicketType


@strawberry.input
class CreateTicketInput:
    subject: str
    body: str
    priority: TicketPriorityEnum = TicketPriority.normal  # type: ignore[valid-type]
    organisation_id: strawberry.ID | None = strawberry.field(
        default=None, description="Staff only: the organisation the ticket belongs to."
    )


@strawberry.input
class AddCommentInput:
    ticket_id: strawberry.ID
    body: str
    internal: bool = False


@strawberry.input
class UpdateTicketStatusInput:
    ticket_id: strawberry.ID
    status: TicketStatusEnum  # type: ignore[valid-type]


@strawberry.type
class Mutation:
    block_ip: IpBlockType = strawberry.mutation(
        resolver=resolve_block_ip, description="Admins: block an address or network."
    )
    unblock_ip: bool = strawberry.mutation(
        resolver=resolve_unblock_ip, description="Admins: end a block; false if none."
    )

    @strawberry.mutation
    async def create_ticket(self, info: Info, input: CreateTicketInput) -> TicketType:
        organisation_id = (
            parse_id(input.organisation_id, field="input.organisationId")
            if input.organisation_id is not None
            else None
        )
        record = await create_ticket(
            info.context.principal,
            subject=input.subject,
            body=input.body,
            priority=input.priority,
            organisation_id=organisation_id,
        )
        return TicketType(record=record)

    @strawberry.mutation
    async def add_comment(self, info: Info, input: AddCommentInput) -> CommentType:
        ticket_id = parse_id(input.ticket_id, field="input.ticketId")
        record = await add_comment(
            info.context.principal, ticket_id, body=input.body, internal=input.internal
        )
        return CommentType(record=record)

    @strawberry.mutation
    async def update_ticket_status(self, info: Info, input: UpdateTicketStatusInput) -> TicketType:
        ticket_id = parse_id(input.ticket_id, field="input.ticketId")
        record = await update_ticket_status(info.context.principal, ticket_id, input.status)
        return TicketType(record=record)
