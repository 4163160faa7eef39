"""The ordered guard extensions for a schema, built from one GuardsConfig."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

from strawberry.extensions import SchemaExtension

from schema.guards.batching import NoMutationsInBatches
from schema.guards.budget import CostBudget
from schema.guards.chain import GuardChain
from schema.guards.config import GuardsConfig
from schema.guards.cost import CostLimit
from schema.guards.document import DocumentSizeLimit, ErrorCodes, TokenLimit
from schema.guards.introspection import IntrospectionGate
from schema.guards.limits import AliasLimit, DepthLimit, DirectiveLimit, MutationLimit
from schema.guards.opaque_errors import OpaqueValidationErrors
from schema.guards.suggestions import NoSuggestions
from schema.guards.time_limit import ExecutionTimeLimit, TimeLimits

GuardExtension = type[SchemaExtension] | Callable[[], SchemaExtension]


def build_guard_extensions(
    config: GuardsConfig,
    *,
    before: Sequence[GuardExtension] = (),
    after: Sequence[GuardExtension] = (),
) -> list[GuardExtension]:
    """Extensions for ``strawberry.Schema(extensions=...)``, cheapest refusal first.

    ``before`` and ``after``: the schema's extensions that sit right before and after
    the guards (error masking; the per-request authentication and field-policy gates),
    run in the same chain so strawberry wraps one extension's hooks instead of several;
    the order is the same as if each were its own extension.

    One :class:`GuardChain` factory: strawberry builds a fresh chain (and fresh guards)
    per request, and the cost extension keeps per-request state. Put them before a
    ``ValidationCache`` so that a refused document is never validated.
    Order: size (chars) → tokens (parser) → aliases → directives → depth →
    mutations (all on the parsed document, before validation) → cost (after
    validation, with variables, before execution) → introspection gate (a validation
    rule) → suggestions removal → default error codes. Every limit check ends in
    :func:`schema.guards.verdict.check_limit` (refuse, or log only if shadowed).
    """
    extensions: list[GuardExtension] = [
        partial(DocumentSizeLimit, limit=config.limit("document_chars")),
        partial(TokenLimit, limit=config.limit("tokens")),
        partial(AliasLimit, limit=config.limit("aliases")),
        partial(DirectiveLimit, limit=config.limit("directives")),
        partial(DepthLimit, limit=config.limit("depth")),
        partial(MutationLimit, limit=config.limit("mutations")),
        NoMutationsInBatches,
        partial(CostLimit, limit=config.limit("cost"), max_page_size=config.max_page_size),
        # Charges the checked cost to the principal's budget (needs a rate limiter in context).
        partial(CostBudget, max_page_size=config.max_page_size),
    ]
    if not config.introspection_allowed:
        extensions.append(IntrospectionGate)
    if not config.suggestions_enabled:
        extensions.append(NoSuggestions)
    if not config.introspection_allowed and not config.suggestions_enabled:
        # Production: no schema detail in validation errors for who may not introspect.
        # Only with the gate: its rule keeps their validation cache entries apart.
        extensions.append(OpaqueValidationErrors)
    extensions.append(ErrorCodes)
    extensions.append(partial(ExecutionTimeLimit, limits=time_limits(config)))
    # One extension for strawberry, running the guards in this order (schema.guards.chain).
    return [partial(GuardChain, parts=[*before, *extensions, *after])]


def time_limits(config: GuardsConfig) -> TimeLimits:
    return TimeLimits(
        query_seconds=config.query_timeout_seconds,
        mutation_seconds=config.mutation_timeout_seconds,
        shadow="time" in config.shadow,
        by_principal=config.timeouts_by_principal,
    )
