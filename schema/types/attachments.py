"""The Attachment type: metadata only; the content is fetched from ``downloadPath``."""

from __future__ import annotations

from datetime import datetime

import strawberry

from desk.records import AttachmentRecord

DOWNLOAD_PREFIX = "/attachments/"


@strawberry.type(name="Attachment")
class AttachmentType:
    record: strawberry.Private[AttachmentRecord]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.record.id))

    @strawberry.field(description="Sanitised: no path, no control characters, capped.")
    def filename(self) -> str:
        return self.record.filename

    @strawberry.field(description="Decided from the content, not from the name or client.")
    def content_type(self) -> str:
        return self.record.content_type

    @strawberry.field
    def size_bytes(self) -> int:
        return self.record.size_bytes

    @strawberry.field
    def created_at(self) -> datetime:
        return self.record.created_at

    @strawberry.field(
        description="GET it with the session cookie and the X-CSRF-Token header; it "
        "answers the file as a download (Content-Disposition: attachment)."
    )
    def download_path(self) -> str:
        return f"{DOWNLOAD_PREFIX}{self.record.id}"
