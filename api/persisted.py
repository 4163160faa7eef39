"""Persisted (trusted) operations at the GraphQL endpoint, rolled out in three steps.

A request names an allowlisted operation by its SHA-256 (Apollo's APQ shape,
``extensions.persistedQuery = {"version": 1, "sha256Hash": ...}``, with or without the
text), or sends the text, whose hash is then looked up. The mode decides what an
operation that is not on the principal's list gets (Apollo Router's rollout):

* ``off``: runs; known hashes are still served;
* ``log``: runs, and is logged (``graphql_unknown_operation``: hash, name, principal)
  so the allowlist can be built from real traffic;
* ``allowlist``: refused (``PERSISTED_QUERY_NOT_IN_LIST``); listed text or ids run;
* ``require``: only ids; any text is refused (``PERSISTED_QUERY_ID_REQUIRED``).

Partners are held to at least ``allowlist`` whatever the mode: an integration runs the
operations agreed for it, nothing else. An admin signed in with MFA who sends text
together with its hash (APQ registration) in ``log`` or ``allowlist`` mode registers it
for the admin role — an audited change, like every other one to the list. An unknown
or foreign id answers ``PERSISTED_QUERY_NOT_FOUND`` alike, so ids are no oracle.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

import strawberry
import structlog
from graphql import GraphQLError, parse
from graphql import validate as graphql_validate
from strawberry.http import GraphQLRequestData

from api.settings import Settings
from audit.trail import Actor
from operations.allowlist import (
    Allowlist,
    OperationError,
    document_hash,
    is_sha256_hex,
    register,
)
from operations.audiences import audiences_of, role_audience
from permissions.principal import Principal
from permissions.roles import Role
from schema.build import OpenDeskSchema
from schema.context import RequestContext
from schema.guards.errors import GuardCode, refusal
from schema.guards.verdict import RequestSubject, event_fields, refuse

_log = structlog.get_logger("api.persisted")


class PersistedMode(StrEnum):
    OFF = "off"
    LOG = "log"
    ALLOWLIST = "allowlist"
    REQUIRE = "require"

    @property
    def rank(self) -> int:
        return list(PersistedMode).index(self)


# Checks a document against the served schema before it is registered: the messages of
# the validation errors (none: valid).
SchemaValidator = Callable[[str], list[str]]


@dataclass(frozen=True, slots=True)
class PersistedOperationsGate:
    mode: PersistedMode
    allowlist: Allowlist
    validate: SchemaValidator
    # The task keeping the allowlist fresh while the app runs (start/stop).
    _refresher: list[asyncio.Task[None]] = field(default_factory=list)

    def mode_for(self, principal: Principal) -> PersistedMode:
        if principal.kind == "partner" and self.mode.rank < PersistedMode.ALLOWLIST.rank:
            return PersistedMode.ALLOWLIST
        return self.mode

    async def admit(
        self, data: GraphQLRequestData, context: RequestContext, *, method: str = "POST"
    ) -> GraphQLRequestData | GraphQLError:
        """The request to run (its text filled in from the list), or the refusal.
        ``method``: the HTTP method; only a POST may register (a GET changes nothing)."""
        requested = _requested_hash(data.extensions)
        if isinstance(requested, GraphQLError):
            return requested
        mode = self.mode_for(context.principal)
        if requested is None:
            if data.query is None or mode is PersistedMode.OFF:
                return data  # no text: strawberry answers 400 "No GraphQL query found"
            return await self._text_only(data, data.query, mode, context)
        if data.query is None:
            return await self._id_only(data, requested, context)
        return await self._text_with_id(
            data, data.query, requested, mode, context, may_register=method == "POST"
        )

    async def start(self) -> None:
        """At start-up: load (and prepare) the allowlist before the first request, then
        keep it fresh in the background, so that requests do not wait for the periodic
        reloads (only for one after a change by this process, or past the bound)."""
        await self.allowlist.reload()
        self._refresher.append(asyncio.create_task(self.allowlist.keep_fresh()))

    @property
    def keeping_fresh(self) -> bool:
        return any(not task.done() for task in self._refresher)

    async def stop(self) -> None:
        for task in self._refresher:
            task.cancel()
        outcomes = await asyncio.gather(*self._refresher, return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, Exception) and not isinstance(outcome, asyncio.CancelledError):
                _log.error("persisted_operations_refresher_failed", error=repr(outcome))
        self._refresher.clear()

    async def _id_only(
        self, data: GraphQLRequestData, sha256: str, context: RequestContext
    ) -> GraphQLRequestData | GraphQLError:
        entry = await self.allowlist.find(sha256)
        if entry is None or not entry.allows(audiences_of(context.principal)):
            # Apollo clients recognise this message and resend with the text.
            return refuse(
                _subject(sha256, data, context),
                GuardCode.PERSISTED_QUERY_NOT_FOUND,
                "PersistedQueryNotFound",
            )
        # The listed text object itself: the schema's prepared form is keyed by it.
        return replace(data, query=entry.document)

    async def _text_only(
        self, data: GraphQLRequestData, text: str, mode: PersistedMode, context: RequestContext
    ) -> GraphQLRequestData | GraphQLError:
        sha256 = document_hash(text)
        if mode is PersistedMode.REQUIRE:
            return _id_required(sha256, data, context)
        if await self._listed_for(sha256, context.principal):
            return data
        return _unknown(sha256, data, mode, context)

    async def _text_with_id(
        self,
        data: GraphQLRequestData,
        text: str,
        sha256: str,
        mode: PersistedMode,
        context: RequestContext,
        *,
        may_register: bool,
    ) -> GraphQLRequestData | GraphQLError:
        if document_hash(text) != sha256:
            return refusal(
                "extensions.persistedQuery.sha256Hash is not the SHA-256 of the query.",
                GuardCode.BAD_USER_INPUT,
            )
        if mode is PersistedMode.REQUIRE:
            return _id_required(sha256, data, context)
        if await self._listed_for(sha256, context.principal):
            return data
        if (
            may_register
            and mode in (PersistedMode.LOG, PersistedMode.ALLOWLIST)
            and _may_register(context.principal)
        ):
            return await self._register(data, text, context)
        return _unknown(sha256, data, mode, context)

    async def _register(
        self, data: GraphQLRequestData, text: str, context: RequestContext
    ) -> GraphQLRequestData | GraphQLError:
        problems = self.validate(text)
        if problems:
            # Not registered; executing it answers the same validation errors in full.
            return data
        principal = context.principal
        assert principal.role is not None  # noqa: S101 - _may_register checked it
        try:
            await register(
                text,
                [role_audience(principal.role)],
                actor=Actor("user", principal.user_id),
                via="apq",
                request_id=context.request_id,
                client_ip=context.client_ip,
            )
        except OperationError:
            # Not one operation (several, or none): not registered; running it answers
            # whatever graphql-core makes of it.
            return data
        self.allowlist.forget()
        return data

    async def _listed_for(self, sha256: str, principal: Principal) -> bool:
        entry = await self.allowlist.find(sha256)
        return entry is not None and entry.allows(audiences_of(principal))


def _requested_hash(extensions: Mapping[str, Any] | None) -> str | GraphQLError | None:
    """The id in ``extensions.persistedQuery``; None without one; an error if malformed."""
    if not extensions or "persistedQuery" not in extensions:
        return None
    persisted = extensions["persistedQuery"]
    if not isinstance(persisted, Mapping) or persisted.get("version") != 1:
        return refusal(
            'extensions.persistedQuery must be {"version": 1, "sha256Hash": "<hex>"}.',
            GuardCode.BAD_USER_INPUT,
        )
    sha256 = persisted.get("sha256Hash")
    if not is_sha256_hex(sha256):
        return refusal(
            "extensions.persistedQuery.sha256Hash must be 64 lower-case hex digits.",
            GuardCode.BAD_USER_INPUT,
        )
    return str(sha256)


def _may_register(principal: Principal) -> bool:
    return (
        principal.kind == "user" and principal.role is Role.admin and principal.mfa_at is not None
    )


def _unknown(
    sha256: str, data: GraphQLRequestData, mode: PersistedMode, context: RequestContext
) -> GraphQLRequestData | GraphQLError:
    if mode is PersistedMode.ALLOWLIST:
        return refuse(
            _subject(sha256, data, context),
            GuardCode.PERSISTED_QUERY_NOT_IN_LIST,
            "This operation is not on the allowlist.",
        )
    if mode is PersistedMode.LOG:
        _log.warning("graphql_unknown_operation", **event_fields(_subject(sha256, data, context)))
    return data


def _id_required(sha256: str, data: GraphQLRequestData, context: RequestContext) -> GraphQLError:
    return refuse(
        _subject(sha256, data, context),
        GuardCode.PERSISTED_QUERY_ID_REQUIRED,
        "Send the id of a persisted operation (extensions.persistedQuery), not its text.",
    )


def _subject(sha256: str, data: GraphQLRequestData, context: RequestContext) -> RequestSubject:
    # The text is not passed on: the event carries its hash, never the text itself.
    return RequestSubject(context, query=None, operation_name=data.operation_name, sha256=sha256)


def schema_validator(schema: strawberry.Schema) -> SchemaValidator:
    def validate(text: str) -> list[str]:
        try:
            document = parse(text)
        except GraphQLError as error:
            return [error.message]
        return [error.message for error in graphql_validate(schema._schema, document)]

    return validate


def persisted_gate(settings: Settings, schema: OpenDeskSchema) -> PersistedOperationsGate:
    """The gate; every document on its allowlist is kept prepared in ``schema`` (parsed,
    measured, validated and costed once: schema.guards.prepared), so a request naming
    one skips those steps, its first call included once :meth:`start` has run."""
    mode = PersistedMode.REQUIRE if settings.require_persisted else settings.persisted_operations
    return PersistedOperationsGate(
        mode=PersistedMode(mode),
        allowlist=Allowlist(
            refresh_seconds=settings.persisted_refresh_seconds,
            on_reload=schema.prepared_documents.keep,
        ),
        validate=schema_validator(schema),
    )
