"""Root fields of the identity surface. Thin: each calls one accounts use case."""

from __future__ import annotations

from datetime import timedelta

import strawberry

from accounts.services import (
    api_keys,
    authentication,
    mfa,
    password_flows,
    registration,
    reveal,
    sessions,
)
from accounts.services.users import get_user
from accounts.tokens import token_digest
from core.errors import BadUserInput
from schema.action_limits import enforce_action_limits
from schema.context import Info, RequestContext
from schema.ids import parse_id
from schema.types.identity import (
    ApiKeyType,
    CreateApiKeyInput,
    CreatedApiKeyType,
    LoginPayload,
    RecoveryCodesType,
    RevealedPersonalDataType,
    SessionType,
    TotpEnrolmentType,
)

# Inputs are bounded before any hashing work; the policy's own maximum is lower.
_SECRET_MAX = 1024
_CODE_MAX = 64
_EMAIL_MAX = 320
_PAGE_MAX = 100


def _bounded(value: str | None, maximum: int, field: str) -> None:
    if value is not None and len(value) > maximum:
        raise BadUserInput(f"Must be at most {maximum} characters.", field=field)


def _page(first: int) -> None:
    if not 1 <= first <= _PAGE_MAX:
        raise BadUserInput(f"Must be between 1 and {_PAGE_MAX}.", field="first")


def _session_digest(context: RequestContext) -> str | None:
    return token_digest(context.session_token) if context.session_token else None


def _set_cookie(context: RequestContext, token: str) -> None:
    if context.session_cookie is not None:
        context.session_cookie.set(token)


@strawberry.type
class IdentityQuery:
    @strawberry.field(description="The signed-in user's sessions, newest first.")
    async def my_sessions(self, info: Info, first: int = 20) -> list[SessionType]:
        context = info.context
        _page(first)
        user_id = mfa.require_user(context.principal)
        current = _session_digest(context)
        found = await sessions.sessions_of(context.require_identity(), user_id)
        ordered = sorted(found.items(), key=lambda item: item[1].created_at, reverse=True)[:first]
        return [
            SessionType(record=record, is_current=digest == current) for digest, record in ordered
        ]

    @strawberry.field(description="Partner API keys (admins), newest first.")
    async def api_keys(self, info: Info, first: int = 50) -> list[ApiKeyType]:
        context = info.context
        _page(first)
        records = await api_keys.list_api_keys(
            context.require_identity(), context.principal, limit=first
        )
        return [ApiKeyType(record=record) for record in records]


@strawberry.type
class IdentityMutation:
    @strawberry.mutation(description="Sign in; sets the session cookie.")
    async def login(
        self,
        info: Info,
        email: str,
        password: str,
        totp: str | None = None,
        recovery_code: str | None = None,
    ) -> LoginPayload:
        context = info.context
        _bounded(email, _EMAIL_MAX, "email")
        _bounded(password, _SECRET_MAX, "password")
        _bounded(totp, _CODE_MAX, "totp")
        _bounded(recovery_code, _CODE_MAX, "recoveryCode")
        await enforce_action_limits(info)
        new_session = await authentication.login(
            context.require_identity(),
            email=email,
            password=password,
            totp=totp,
            recovery_code=recovery_code,
            client_ip=str(context.client_ip),
            user_agent=context.user_agent,
            previous_token=context.session_token,
        )
        _set_cookie(context, new_session.token)
        lifetime = timedelta(seconds=context.require_identity().config.session_lifetime_seconds)
        return LoginPayload(
            session_expires_at=new_session.record.created_at + lifetime,
            mfa_enrolment_required=new_session.record.role is None,
        )

    @strawberry.mutation(
        description="Register a customer account (when enabled). Always true once the "
        "input is valid: whether the address was taken is told only by email."
    )
    async def register(
        self,
        info: Info,
        email: str,
        display_name: str,
        organisation_name: str,
        password: str,
    ) -> bool:
        context = info.context
        _bounded(email, _EMAIL_MAX, "email")
        _bounded(password, _SECRET_MAX, "password")
        await enforce_action_limits(info)
        await registration.register(
            context.require_identity(),
            email=email,
            display_name=display_name,
            organisation_name=organisation_name,
            password=password,
        )
        return True

    @strawberry.mutation(description="End this session and clear its cookie.")
    async def logout(self, info: Info) -> bool:
        context = info.context
        if context.session_token:
            await authentication.logout(context.require_identity(), context.session_token)
        if context.session_cookie is not None:
            context.session_cookie.clear()
        return True

    @strawberry.mutation(description="Needs the current password; ends every other session.")
    async def change_password(self, info: Info, current_password: str, new_password: str) -> bool:
        context = info.context
        _bounded(current_password, _SECRET_MAX, "currentPassword")
        _bounded(new_password, _SECRET_MAX, "newPassword")
        await password_flows.change_password(
            context.require_identity(),
            context.principal,
            current=current_password,
            new=new_password,
            keep_digest=_session_digest(context),
        )
        return True

    @strawberry.mutation(description="Always true: never reveals whether the email exists.")
    async def request_password_reset(self, info: Info, email: str) -> bool:
        _bounded(email, _EMAIL_MAX, "email")
        await enforce_action_limits(info)
        await password_flows.request_password_reset(info.context.require_identity(), email)
        return True

    @strawberry.mutation(description="Spend a reset token (once, within 30 minutes).")
    async def reset_password(self, info: Info, token: str, new_password: str) -> bool:
        _bounded(new_password, _SECRET_MAX, "newPassword")
        await enforce_action_limits(info)
        await password_flows.reset_password(
            info.context.require_identity(), token=token, new=new_password
        )
        return True

    @strawberry.mutation(description="Start TOTP enrolment; the secret is shown once.")
    async def enroll_totp(self, info: Info) -> TotpEnrolmentType:
        context = info.context
        enrolment = await mfa.enroll_totp(context.require_identity(), context.principal)
        return TotpEnrolmentType(secret=enrolment.secret, otpauth_uri=enrolment.otpauth_uri)

    @strawberry.mutation(description="Activate TOTP with a code; returns recovery codes once.")
    async def confirm_totp(self, info: Info, code: str) -> RecoveryCodesType:
        context = info.context
        _bounded(code, _CODE_MAX, "code")
        await enforce_action_limits(info)
        identity = context.require_identity()
        codes = await mfa.confirm_totp(identity, context.principal, code)
        # Privilege change: a new session id, now with MFA (and the role it unlocks).
        user = await get_user(mfa.require_user(context.principal))
        if context.session_token and user is not None:
            rotated = await authentication.rotate_session(
                identity, context.session_token, mfa_at=identity.now(), role=user.role
            )
            if rotated is not None:
                _set_cookie(context, rotated.token)
        return RecoveryCodesType(codes=codes)

    @strawberry.mutation(description="Turn TOTP off (not for roles that require it).")
    async def disable_totp(self, info: Info, password: str, code: str) -> bool:
        context = info.context
        _bounded(password, _SECRET_MAX, "password")
        _bounded(code, _CODE_MAX, "code")
        await enforce_action_limits(info)
        await mfa.disable_totp(context.require_identity(), context.principal, password, code)
        return True

    @strawberry.mutation(description="Replace all recovery codes (needs a recent MFA check).")
    async def regenerate_recovery_codes(self, info: Info) -> RecoveryCodesType:
        context = info.context
        codes = await mfa.regenerate_recovery_codes(context.require_identity(), context.principal)
        return RecoveryCodesType(codes=codes)

    @strawberry.mutation(description="End one of your sessions.")
    async def revoke_session(self, info: Info, id: strawberry.ID) -> bool:
        context = info.context
        user_id = mfa.require_user(context.principal)
        return await sessions.revoke_session(context.require_identity(), user_id, str(id)[:64])

    @strawberry.mutation(description="End every session but this one; returns how many.")
    async def revoke_other_sessions(self, info: Info) -> int:
        context = info.context
        user_id = mfa.require_user(context.principal)
        return await sessions.revoke_all_sessions(
            context.require_identity(), user_id, keep_digest=_session_digest(context)
        )

    @strawberry.mutation(description="Admins with a recent MFA check; the key is shown once.")
    async def create_api_key(self, info: Info, input: CreateApiKeyInput) -> CreatedApiKeyType:
        context = info.context
        organisation_id = (
            parse_id(input.organisation_id, field="input.organisationId")
            if input.organisation_id
            else None
        )
        record, key = await api_keys.create_api_key(
            context.require_identity(),
            context.principal,
            name=input.name,
            scopes=input.scopes,
            organisation_id=organisation_id,
            expires_at=input.expires_at,
            allowed_networks=input.allowed_networks,
        )
        return CreatedApiKeyType(api_key=ApiKeyType(record=record), key=key)

    @strawberry.mutation(description="New key, same grants; the old one works for the overlap.")
    async def rotate_api_key(self, info: Info, id: strawberry.ID) -> CreatedApiKeyType:
        context = info.context
        record, key = await api_keys.rotate_api_key(
            context.require_identity(), context.principal, parse_id(id, field="id")
        )
        return CreatedApiKeyType(api_key=ApiKeyType(record=record), key=key)

    @strawberry.mutation(
        description="Admins with a recent MFA check: a user's full contact data, with a "
        "reason; every reveal is written to the audit trail."
    )
    async def reveal_personal_data(
        self, info: Info, user_id: strawberry.ID, fields: list[str], reason: str
    ) -> RevealedPersonalDataType:
        context = info.context
        _bounded(reason, 1000, "reason")
        await enforce_action_limits(info)
        revealed = await reveal.reveal_personal_data(
            context.require_identity(),
            context.principal,
            user_id=parse_id(user_id, field="userId"),
            fields=fields[:10],
            reason=reason,
            client_ip=context.client_ip,
            request_id=context.request_id,
        )
        return RevealedPersonalDataType(
            user_id=strawberry.ID(str(revealed.user_id)),
            email=revealed.email,
            phone=revealed.phone,
        )

    @strawberry.mutation(description="Revoke a partner key at once.")
    async def revoke_api_key(self, info: Info, id: strawberry.ID) -> bool:
        context = info.context
        await api_keys.revoke_api_key(
            context.require_identity(), context.principal, parse_id(id, field="id")
        )
        return True
