"""Builds the one GraphQL schema, with its extensions in request order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import strawberry
from graphql.error import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from permissions.enforcement import FieldPolicyGate, enforce_field_policy, install_field_policy
from schema.attachment_fields import AttachmentMutation
from schema.auth_guard import OneAuthenticationPerRequest
from schema.consent_fields import ConsentMutation, ConsentQuery
from schema.document_caches import ParsedDocuments, ParseStep, ValidationCacheAfterGuards
from schema.errors import MaskUnexpectedErrors, ensure_error_codes, set_retry_after
from schema.guards import GuardsConfig, build_guard_extensions
from schema.guards.batching import BATCH_PARSE_CEILING
from schema.guards.preparation import PreparedDocuments
from schema.identity_fields import IdentityMutation, IdentityQuery
from schema.mutations import Mutation
from schema.privacy_fields import PrivacyMutation, PrivacyQuery
from schema.queries import Query


@dataclass(frozen=True, slots=True)
class SchemaConfig:
    production: bool = False
    max_page_size: int = 100
    # Parsed documents and validation results are cached by document text; the cost is
    # still evaluated per request with its variables (see schema.guards).
    cache_size: int = 512
    # Operations per batched request; 1 turns batching off (a JSON list is refused).
    max_operations_per_batch: int = 1
    query_timeout_seconds: float = 10.0
    mutation_timeout_seconds: float = 30.0
    # (principal class, "query" | "mutation", seconds) overrides of the two above.
    timeouts_by_principal: tuple[tuple[str, str, float], ...] = ()
    # Guard limits logged but not enforced (schema.guards.config.SHADOW_LIMITS names).
    shadow_limits: frozenset[str] = frozenset()

    def guards(self) -> GuardsConfig:
        # Development keeps introspection and suggestions for everyone; production
        # decides introspection per request (context.introspection_allowed).
        return GuardsConfig(
            introspection_allowed=not self.production,
            suggestions_enabled=not self.production,
            max_page_size=self.max_page_size,
            max_operations_per_batch=self.max_operations_per_batch,
            query_timeout_seconds=self.query_timeout_seconds,
            mutation_timeout_seconds=self.mutation_timeout_seconds,
            timeouts_by_principal=self.timeouts_by_principal,
            shadow=self.shadow_limits,
        )


class OpenDeskSchema(strawberry.Schema):
    def __init__(self, *, query: type, mutation: type | None = None, **options: Any) -> None:
        # The field policy is part of every schema: checked against each field reachable
        # from the roots, then applied to every field of the built schema
        # (permissions.enforcement).
        install_field_policy(*(root for root in (query, mutation) if root is not None))
        super().__init__(query=query, mutation=mutation, **options)
        enforce_field_policy(self._schema)
        # Documents prepared before their first request (the persisted operations):
        # the parser, validation and cost steps serve these first.
        self.prepared_documents = PreparedDocuments(self._schema)

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Give every error a code, and rate-limited answers a ``Retry-After`` header; no
        per-error traceback logging.

        Client mistakes and expected errors are not server faults, and unexpected errors
        are already logged once, with their error id, by MaskUnexpectedErrors.
        """
        ensure_error_codes(errors)
        if execution_context is not None:
            set_retry_after(errors, execution_context.context)


def build_schema(config: SchemaConfig) -> OpenDeskSchema:
    extensions: list[Callable[[], SchemaExtension]] = [
        # Guards before the caches: a document is size-checked before it is parsed (or
        # looked up), and refused documents are never validated (nor their results cached).
        *build_guard_extensions(
            config.guards(),
            # Outermost: it sees the final result of everything after it. The chain runs
            # no on_stream_result hook: incremental delivery (@defer/@stream) stays off.
            before=[MaskUnexpectedErrors],
            after=[
                OneAuthenticationPerRequest,
                # After the guards (a cheaper refusal wins), before execution: refuses a
                # mutation selecting fields the principal can never see, so its resolver
                # never runs.
                FieldPolicyGate,
                # Last, as when they were extensions of their own after the chain: each
                # request's hooks run in the one chain (schema.guards.chain), not in a
                # context manager strawberry builds per hook per extension. Factories:
                # a fresh part per request; the caches themselves are shared.
                partial(ParseStep, parsed=ParsedDocuments(config.cache_size)),
                lambda: ValidationCacheAfterGuards(maxsize=config.cache_size),
            ],
        ),
    ]
    return OpenDeskSchema(
        query=merge_types("Query", (Query, IdentityQuery, ConsentQuery, PrivacyQuery)),
        mutation=merge_types(
            "Mutation",
            (Mutation, IdentityMutation, ConsentMutation, PrivacyMutation, AttachmentMutation),
        ),
        extensions=extensions,
        config=StrawberryConfig(
            auto_camel_case=True,
            disable_field_suggestions=config.production,
            # The cap itself is checked by the HTTP layer (schema.guards.batching).
            batching_config={"max_operations": BATCH_PARSE_CEILING},
        ),
    )
