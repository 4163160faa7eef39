"""A test-only root that hands out any object unscoped, so the generated matrix reaches
every (audience, relation, field) through the real types and their real enforcement.

The object types are the product's own: building the product schema first installs
the field policy on them; this root adds no policy of its own. Records come from the
services (desk, accounts, session store, IP blocks); payloads that exist only as a
mutation's answer (a new key, a TOTP secret, recovery codes) are wrapped from the values
the test got from the service, exactly as the mutation wraps them.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import strawberry

from accounts.services.api_keys import ApiKeyRecord, list_api_keys
from accounts.services.marketing import marketing_contacts
from accounts.services.sessions import sessions_of
from accounts.services.users import get_user, organisations_by_ids
from accounts.sessions import SessionRecord
from accounts.tokens import token_digest
from audit.ip_blocks import list_ip_blocks
from desk.records import TicketPage
from desk.services.attachments import attachments_for_tickets
from desk.services.comments import comments_for_tickets
from desk.services.tickets import get_ticket
from permissions.enforcement import enforce_field_policy
from permissions.principal import Principal, user_principal
from permissions.roles import Role
from privacy.consent import consents_of
from privacy.consent_texts import current_text
from privacy.requests import get_request
from schema.build import SchemaConfig, build_schema
from schema.context import Info, RequestContext
from schema.types.attachments import AttachmentType
from schema.types.consent import (
    ConsentPurposeType,
    ConsentType,
    MarketingContactConnection,
    MarketingContactEdge,
    MarketingContactType,
)
from schema.types.identity import (
    ApiKeyType,
    CreatedApiKeyType,
    LoginPayload,
    RecoveryCodesType,
    RevealedPersonalDataType,
    SessionType,
    TotpEnrolmentType,
)
from schema.types.ip_blocks import IpBlockType
from schema.types.privacy import DataRequestType, DownloadLinkType
from schema.types.tickets import CommentType, TicketConnection, TicketType
from schema.types.users import OrganisationType, UserType
from tests.permissions.world import STAFF

PRODUCT_SCHEMA = build_schema(SchemaConfig())


@strawberry.type
class Probe:
    @strawberry.field
    async def user(self, id: strawberry.ID) -> UserType | None:
        record = await get_user(uuid.UUID(id))
        return UserType(record=record) if record else None

    @strawberry.field
    async def organisation(self, id: strawberry.ID) -> OrganisationType | None:
        found = await organisations_by_ids([uuid.UUID(id)])
        return OrganisationType(record=found[uuid.UUID(id)]) if found else None

    @strawberry.field
    async def ticket(self, id: strawberry.ID) -> TicketType | None:
        record = await get_ticket(STAFF, uuid.UUID(id))
        return TicketType(record=record) if record else None

    @strawberry.field
    async def comment(self, ticket_id: strawberry.ID, id: strawberry.ID) -> CommentType | None:
        found = await comments_for_tickets(STAFF, [uuid.UUID(ticket_id)], first=100)
        for record in found.get(uuid.UUID(ticket_id), []):
            if record.id == uuid.UUID(id):
                return CommentType(record=record)
        return None

    @strawberry.field
    async def attachment(
        self, ticket_id: strawberry.ID, id: strawberry.ID
    ) -> AttachmentType | None:
        found = await attachments_for_tickets(STAFF, [uuid.UUID(ticket_id)])
        for record in found.get(uuid.UUID(ticket_id), []):
            if record.id == uuid.UUID(id):
                return AttachmentType(record=record)
        return None

    @strawberry.field
    async def connection(self, id: strawberry.ID) -> TicketConnection:
        record = await get_ticket(STAFF, uuid.UUID(id))
        return TicketConnection.from_page(
            TicketPage(tickets=[record] if record else [], has_next_page=False)
        )

    @strawberry.field
    async def session(
        self, info: Info, owner: strawberry.ID, id: strawberry.ID
    ) -> SessionType | None:
        found = await _session(info, owner, id)
        if found is None:
            return None
        digest, record = found
        presented = info.context.session_token
        return SessionType(
            record=record, is_current=presented is not None and digest == token_digest(presented)
        )

    @strawberry.field
    async def login_payload(
        self, info: Info, owner: strawberry.ID, session: strawberry.ID
    ) -> LoginPayload | None:
        # As the login mutation answers for the session it has just started.
        found = await _session(info, owner, session)
        if found is None:
            return None
        record = found[1]
        lifetime = info.context.require_identity().config.session_lifetime_seconds
        return LoginPayload(
            session_expires_at=record.created_at + timedelta(seconds=lifetime),
            mfa_enrolment_required=record.role is None,
        )

    @strawberry.field
    def totp_enrolment(self, secret: str, otpauth_uri: str) -> TotpEnrolmentType:
        return TotpEnrolmentType(secret=secret, otpauth_uri=otpauth_uri)

    @strawberry.field
    def recovery_codes(self, codes: list[str]) -> RecoveryCodesType:
        return RecoveryCodesType(codes=codes)

    @strawberry.field
    async def api_key(self, info: Info, id: strawberry.ID) -> ApiKeyType | None:
        record = await _api_key(info, id)
        return ApiKeyType(record=record) if record else None

    @strawberry.field
    async def created_api_key(
        self, info: Info, id: strawberry.ID, key: str
    ) -> CreatedApiKeyType | None:
        record = await _api_key(info, id)
        return CreatedApiKeyType(api_key=ApiKeyType(record=record), key=key) if record else None

    @strawberry.field
    def revealed(self, user_id: strawberry.ID, email: str, phone: str) -> RevealedPersonalDataType:
        return RevealedPersonalDataType(user_id=user_id, email=email, phone=phone)

    @strawberry.field
    async def ip_block(self, id: strawberry.ID) -> IpBlockType | None:
        for record in await list_ip_blocks(include_inactive=True):
            if record.id == uuid.UUID(id):
                return IpBlockType.from_record(record, datetime.now(UTC))
        return None

    @strawberry.field
    async def data_request(self, id: strawberry.ID) -> DataRequestType | None:
        record = await get_request(uuid.UUID(id))
        return DataRequestType(record=record) if record else None

    @strawberry.field
    def download_link(self, url: str, expires: int) -> DownloadLinkType:
        return DownloadLinkType(url=url, expires_in_seconds=expires)

    @strawberry.field
    async def consent_purpose(self, purpose: str) -> ConsentPurposeType | None:
        text = await current_text(purpose)
        return ConsentPurposeType(record=text) if text else None

    @strawberry.field
    async def consent(self, owner: strawberry.ID, purpose: str) -> ConsentType | None:
        states = await consents_of(user_principal(uuid.UUID(owner), Role.customer, None))
        return next((ConsentType(record=s) for s in states if s.purpose == purpose), None)

    @strawberry.field
    async def marketing_contacts(self, organisation: strawberry.ID) -> MarketingContactConnection:
        return await _marketing(organisation)

    @strawberry.field
    async def marketing_contact_edge(
        self, organisation: strawberry.ID
    ) -> MarketingContactEdge | None:
        edges = (await _marketing(organisation)).edges
        return edges[0] if edges else None

    @strawberry.field
    async def marketing_contact(self, organisation: strawberry.ID) -> MarketingContactType | None:
        edges = (await _marketing(organisation)).edges
        return edges[0].node if edges else None


async def _marketing(organisation: strawberry.ID) -> MarketingContactConnection:
    # As the partner key of that organisation would be answered.
    partner = Principal(
        kind="partner",
        organisation_id=uuid.UUID(organisation),
        scopes=frozenset({"marketing:export"}),
    )
    page = await marketing_contacts(partner, first=5, max_page_size=100)
    return MarketingContactConnection.from_page(page)


async def _session(
    info: Info, owner: strawberry.ID, public_id: strawberry.ID
) -> tuple[str, SessionRecord] | None:
    found = await sessions_of(info.context.require_identity(), uuid.UUID(owner))
    for digest, record in found.items():
        if record.public_id == public_id:
            return digest, record
    return None


async def _api_key(info: Info, id: strawberry.ID) -> ApiKeyRecord | None:
    records = await list_api_keys(info.context.require_identity(), STAFF, limit=100)
    return next((record for record in records if record.id == uuid.UUID(id)), None)


def _probe_schema() -> strawberry.Schema:
    """The product's types behind the product's field policy (applied as OpenDeskSchema
    applies it), under a root that is test harness and so not in the table."""
    schema = strawberry.Schema(query=Probe)
    root = schema._schema.query_type
    assert root is not None
    harness = {name: field.resolve for name, field in root.fields.items()}
    enforce_field_policy(schema._schema)
    for name, field in root.fields.items():
        field.resolve = harness[name]
    return schema


PROBE_SCHEMA = _probe_schema()


async def probe(document: str, context: RequestContext, variables: dict[str, object]):  # type: ignore[no-untyped-def]
    return await PROBE_SCHEMA.execute(document, variable_values=variables, context_value=context)
