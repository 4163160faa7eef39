"""Root fields of consent (GDPR art. 7). Thin: each calls one privacy or accounts service."""

from __future__ import annotations

import strawberry

from accounts.services.marketing import marketing_contacts
from core.errors import BadUserInput
from privacy import consent
from schema.context import Info, RequestContext
from schema.types.consent import ConsentPurposeType, ConsentType, MarketingContactConnection

_PAGE_MAX = 100
_PURPOSE_MAX = 64
_SHA_MAX = 128


def _page(first: int) -> None:
    if not 1 <= first <= _PAGE_MAX:
        raise BadUserInput(f"Must be between 1 and {_PAGE_MAX}.", field="first")


def _bounded(value: str, maximum: int, field: str) -> None:
    if len(value) > maximum:
        raise BadUserInput(f"Must be at most {maximum} characters.", field=field)


def _channel(context: RequestContext) -> consent.Channel:
    return consent.Channel(
        method="graphql", request_id=context.request_id, client_ip=context.client_ip
    )


@strawberry.type
class ConsentQuery:
    @strawberry.field(description="Every purpose with the text to consent to now, by purpose.")
    async def consent_purposes(self, info: Info, first: int = 50) -> list[ConsentPurposeType]:
        _page(first)
        texts = await consent.purposes_for(info.context.principal, first=first)
        return [ConsentPurposeType(record=text) for text in texts]

    @strawberry.field(description="The caller's standing on every purpose, by purpose.")
    async def my_consents(self, info: Info, first: int = 50) -> list[ConsentType]:
        _page(first)
        states = await consent.consents_of(info.context.principal, first=first)
        return [ConsentType(record=state) for state in states]

    @strawberry.field(
        description="Partners with marketing:export: users of the key's organisation who "
        "consent to marketing_email now, by id."
    )
    async def marketing_contacts(
        self, info: Info, first: int, after: str | None = None
    ) -> MarketingContactConnection:
        context = info.context
        page = await marketing_contacts(
            context.principal, first=first, max_page_size=context.max_page_size, after=after
        )
        return MarketingContactConnection.from_page(page)


@strawberry.type
class ConsentMutation:
    @strawberry.mutation(
        description="Consent to the current text of a purpose: name its version and the "
        "SHA-256 of the text shown. Refused if either is not the current one."
    )
    async def grant_consent(
        self, info: Info, purpose: str, version: int, text_sha256: str
    ) -> ConsentType:
        _bounded(purpose, _PURPOSE_MAX, "purpose")
        _bounded(text_sha256, _SHA_MAX, "textSha256")
        state = await consent.grant_consent(
            info.context.principal,
            purpose=purpose,
            version=version,
            text_sha256=text_sha256,
            channel=_channel(info.context),
        )
        return ConsentType(record=state)

    @strawberry.mutation(description="Withdraw consent to a purpose; always allowed.")
    async def withdraw_consent(self, info: Info, purpose: str) -> ConsentType:
        _bounded(purpose, _PURPOSE_MAX, "purpose")
        state = await consent.withdraw_consent(
            info.context.principal, purpose=purpose, channel=_channel(info.context)
        )
        return ConsentType(record=state)
