"""Types of the data subject request surface: requests and their download links."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry

from privacy.request_tables import RequestKind, RequestStatus
from privacy.requests import RequestRecord

DataRequestKind = strawberry.enum(
    RequestKind, name="DataRequestKind", description="export (arts. 15/20) or erasure (art. 17)"
)
DataRequestStatus = strawberry.enum(
    RequestStatus,
    name="DataRequestStatus",
    description="waiting: erasure in its grace period (cancellable); ready: export to "
    "download; failed: being retried (the error id points to the logs)",
)


@strawberry.type(name="DataRequest")
class DataRequestType:
    record: strawberry.Private[RequestRecord]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.record.id))

    @strawberry.field
    def kind(self) -> RequestKind:
        return self.record.kind

    @strawberry.field
    def status(self) -> RequestStatus:
        return self.record.status

    @strawberry.field(description="Whose data (admins see every subject's requests).")
    def subject_id(self) -> strawberry.ID:
        return strawberry.ID(str(self.record.subject_id))

    @strawberry.field
    def requested_at(self) -> datetime:
        return self.record.requested_at

    @strawberry.field(description="The legal deadline: one month after the request.")
    def due_at(self) -> datetime:
        return self.record.due_at

    @strawberry.field(description="True when past its deadline and not finished.")
    def overdue(self) -> bool:
        return self.record.overdue(datetime.now(UTC))

    @strawberry.field(description="Erasure: runs from then on; cancellable until it does.")
    def not_before(self) -> datetime | None:
        return self.record.not_before

    @strawberry.field
    def finished_at(self) -> datetime | None:
        return self.record.finished_at

    @strawberry.field(description="Export: the archive is deleted after this.")
    def archive_expires_at(self) -> datetime | None:
        return self.record.archive_expires_at

    @strawberry.field(description="An error id for the operator's logs, after a failure.")
    def error(self) -> str | None:
        return self.record.error


@strawberry.type(name="DownloadLink")
class DownloadLinkType:
    url: str = strawberry.field(description="Works once, with the same sign-in.")
    expires_in_seconds: int
