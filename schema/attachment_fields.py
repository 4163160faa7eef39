"""The upload mutation (GraphQL multipart request spec, served at /graphql/upload)."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.file_uploads import Upload

from core.errors import BadUserInput
from desk.services.attachments import upload_attachment
from schema.context import Info
from schema.ids import parse_id
from schema.types.attachments import AttachmentType

_NOT_A_FILE = "Send the file as a multipart request to /graphql/upload."


@strawberry.type
class AttachmentMutation:
    @strawberry.mutation(
        description="Attach a file to a ticket (multipart request to /graphql/upload with "
        "the X-CSRF-Token header). PNG, JPEG, GIF, PDF or plain text, decided by content."
    )
    async def upload_attachment(
        self, info: Info, ticket_id: strawberry.ID, file: Upload
    ) -> AttachmentType:
        context = info.context
        policy = context.attachments
        upload: Any = file
        if policy is None or not callable(getattr(upload, "read", None)):
            raise BadUserInput(_NOT_A_FILE, field="file")
        data = await upload.read(policy.max_bytes + 1)
        record = await upload_attachment(
            context.principal,
            parse_id(ticket_id, field="ticketId"),
            filename=getattr(upload, "filename", None),
            data=data,
            policy=policy,
            client_ip=str(context.client_ip) if context.client_ip else None,
            request_id=context.request_id,
        )
        return AttachmentType(record=record)
