"""Consent types: purposes with their current text, one's own consents, marketing contacts."""

from __future__ import annotations

from datetime import datetime

import strawberry

from accounts.services.marketing import MarketingContactPage, contact_cursor
from privacy.consent import ConsentState, ConsentStatus
from privacy.consent_texts import PurposeText
from schema.guards import field_cost
from schema.types.tickets import PageInfo

ConsentStatusEnum = strawberry.enum(
    ConsentStatus,
    name="ConsentStatus",
    description="granted counts; outdated was given to an earlier text: ask again.",
)


@strawberry.type(name="ConsentPurpose", description="A purpose and the text to consent to now.")
class ConsentPurposeType:
    record: strawberry.Private[PurposeText]

    @strawberry.field(description="Stable key, e.g. marketing_email.")
    def purpose(self) -> str:
        return self.record.purpose

    @strawberry.field(description="The current version; a grant must name it.")
    def version(self) -> int:
        return self.record.version

    @strawberry.field(description="Show exactly this text when asking for consent.")
    def text(self) -> str:
        return self.record.text

    @strawberry.field(description="Hex SHA-256 of the text's UTF-8 bytes; a grant echoes it.")
    def text_sha256(self) -> str:
        return self.record.text_sha256

    @strawberry.field
    def published_at(self) -> datetime:
        return self.record.published_at


@strawberry.type(name="Consent", description="The caller's standing on one purpose.")
class ConsentType:
    record: strawberry.Private[ConsentState]

    @strawberry.field
    def purpose(self) -> str:
        return self.record.purpose

    @strawberry.field
    def status(self) -> ConsentStatusEnum:  # type: ignore[valid-type]
        return self.record.status

    @strawberry.field(description="True only for a grant of the current text.")
    def granted(self) -> bool:
        return self.record.status is ConsentStatus.granted

    @strawberry.field
    def current_version(self) -> int:
        return self.record.current_version

    @strawberry.field(description="The text version of the latest grant or withdrawal.")
    def version(self) -> int | None:
        return self.record.version

    @strawberry.field
    def text_sha256(self) -> str | None:
        return self.record.text_sha256

    @strawberry.field
    def changed_at(self) -> datetime | None:
        return self.record.changed_at

    @strawberry.field(description="How the latest change was made, e.g. graphql.")
    def method(self) -> str | None:
        return self.record.method


@strawberry.type(name="MarketingContact")
class MarketingContactType:
    id: strawberry.ID
    display_name: str
    email: str


@strawberry.type(name="MarketingContactEdge")
class MarketingContactEdge:
    cursor: str
    node: MarketingContactType


@strawberry.type(name="MarketingContactConnection")
class MarketingContactConnection:
    # Sized by the connection's own ``first``: counted once, not multiplied again.
    edges: list[MarketingContactEdge] = strawberry.field(metadata=field_cost(0, list_size=1))
    page_info: PageInfo

    @classmethod
    def from_page(cls, page: MarketingContactPage) -> MarketingContactConnection:
        edges = [
            MarketingContactEdge(
                cursor=contact_cursor(contact.id),
                node=MarketingContactType(
                    id=strawberry.ID(str(contact.id)),
                    display_name=contact.display_name,
                    email=contact.email,
                ),
            )
            for contact in page.contacts
        ]
        return cls(
            edges=edges,
            page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=page.end_cursor),
        )
