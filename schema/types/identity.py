"""Types of the identity surface: sessions, TOTP enrolment, recovery codes, API keys."""

from __future__ import annotations

from datetime import datetime

import strawberry

from accounts.services.api_keys import ApiKeyRecord
from accounts.sessions import SessionRecord


@strawberry.type(name="LoginPayload")
class LoginPayload:
    # No user object here: the policy is decided for the caller as it was before signing
    # in (anonymous). Ask `me` on the next request.
    session_expires_at: datetime
    mfa_enrolment_required: bool = strawberry.field(
        description="True when the role requires MFA and it is not enrolled yet: until "
        "it is, the session can only enrol it."
    )


@strawberry.type(name="TotpEnrolment")
class TotpEnrolmentType:
    secret: str = strawberry.field(description="Shown once; store it in an authenticator app.")
    otpauth_uri: str


@strawberry.type(name="RecoveryCodes")
class RecoveryCodesType:
    codes: list[str] = strawberry.field(description="Shown once; each works once.")


@strawberry.type(name="Session")
class SessionType:
    record: strawberry.Private[SessionRecord]
    is_current: bool

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.record.public_id)

    @strawberry.field
    def created_at(self) -> datetime:
        return self.record.created_at

    @strawberry.field
    def last_seen_at(self) -> datetime:
        return self.record.last_seen_at

    @strawberry.field(description="The client's network, masked to /24 or /48.")
    def client_network(self) -> str:
        return self.record.client_network

    @strawberry.field
    def user_agent(self) -> str:
        return self.record.user_agent


@strawberry.type(name="ApiKey")
class ApiKeyType:
    record: strawberry.Private[ApiKeyRecord]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.record.id))

    @strawberry.field
    def name(self) -> str:
        return self.record.name

    @strawberry.field
    def prefix(self) -> str:
        return self.record.prefix

    @strawberry.field
    def scopes(self) -> list[str]:
        return list(self.record.scopes)

    @strawberry.field
    def allowed_networks(self) -> list[str]:
        return list(self.record.allowed_networks)

    @strawberry.field
    def expires_at(self) -> datetime | None:
        return self.record.expires_at

    @strawberry.field
    def last_used_at(self) -> datetime | None:
        return self.record.last_used_at

    @strawberry.field
    def revoked_at(self) -> datetime | None:
        return self.record.revoked_at

    @strawberry.field
    def created_at(self) -> datetime:
        return self.record.created_at


@strawberry.type(name="CreatedApiKey")
class CreatedApiKeyType:
    api_key: ApiKeyType
    key: str = strawberry.field(description="The full key, shown once; only a digest is kept.")


@strawberry.input
class CreateApiKeyInput:
    name: str
    scopes: list[str]
    organisation_id: strawberry.ID | None = None
    expires_at: datetime | None = None
    allowed_networks: list[str] = strawberry.field(default_factory=list)


@strawberry.type(name="RevealedPersonalData")
class RevealedPersonalDataType:
    user_id: strawberry.ID
    email: str | None
    phone: str | None
