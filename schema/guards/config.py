"""Limits the guards enforce; one value, built once from the settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from schema.guards.errors import GuardCode
from schema.guards.verdict import Limit

# The limits that can be shadowed (OPENDESK_GRAPHQL_SHADOW_LIMITS) and the rule each
# enforces. "time" covers both execution time limits; "batch" is checked by the HTTP
# layer (schema.guards.batching.batch_limit).
SHADOW_LIMITS: Mapping[str, GuardCode] = {
    "document_chars": GuardCode.DOCUMENT_TOO_LARGE,
    "tokens": GuardCode.TOO_MANY_TOKENS,
    "aliases": GuardCode.TOO_MANY_ALIASES,
    "directives": GuardCode.TOO_MANY_DIRECTIVES,
    "depth": GuardCode.DEPTH_LIMIT_EXCEEDED,
    "mutations": GuardCode.TOO_MANY_MUTATIONS,
    "cost": GuardCode.COST_LIMIT_EXCEEDED,
    "time": GuardCode.EXECUTION_TIMEOUT,
    "batch": GuardCode.TOO_MANY_OPERATIONS,
}
# The GuardsConfig field holding each document limit (time: see TimeLimits).
_LIMIT_FIELDS: Mapping[str, str] = {
    "document_chars": "max_document_chars",
    "tokens": "max_tokens",
    "aliases": "max_aliases",
    "directives": "max_directives",
    "depth": "max_depth",
    "mutations": "max_mutations_per_request",
    "cost": "max_cost",
}


@dataclass(frozen=True, slots=True)
class GuardsConfig:
    """Per-request limits for GraphQL documents.

    Every limit is inclusive: a document *at* a limit passes, one above it is refused.
    ``introspection_allowed`` opens introspection to every request (development);
    when it is False, a request may still introspect if its context says so (see
    :mod:`schema.guards.introspection`). ``suggestions_enabled`` keeps graphql-core's
    "Did you mean ..." hints; production turns them off.
    ``max_operations_per_batch`` is enforced by the HTTP layer (strawberry's batching
    config); it lives here so that all request-shape limits come from one place.
    ``shadow`` names limits (keys of :data:`SHADOW_LIMITS`) that are measured and
    logged but never refused (see :mod:`schema.guards.verdict`): a rollout tool.
    """

    introspection_allowed: bool
    suggestions_enabled: bool
    max_document_chars: int = 20_000
    max_tokens: int = 2_000
    max_aliases: int = 15
    max_directives: int = 20
    max_depth: int = 10
    max_operations_per_batch: int = 1
    max_mutations_per_request: int = 4
    max_cost: int = 1_000
    max_page_size: int = 100
    # Execution time per operation type (schema.guards.time_limit), in seconds.
    query_timeout_seconds: float = 10.0
    mutation_timeout_seconds: float = 30.0
    # Per principal class and operation kind (schema.guards.time_limit.TimeLimits).
    timeouts_by_principal: tuple[tuple[str, str, float], ...] = ()
    shadow: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        for name in (
            "max_document_chars",
            "max_tokens",
            "max_aliases",
            "max_directives",
            "max_depth",
            "max_operations_per_batch",
            "max_mutations_per_request",
            "max_cost",
            "max_page_size",
        ):
            value = getattr(self, name)
            # bool is an int subclass; True as a limit is always a mistake.
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"GuardsConfig.{name} must be a non-negative int, got {value!r}")
        unknown = sorted(set(self.shadow) - SHADOW_LIMITS.keys())
        if unknown:
            raise ValueError(f"GuardsConfig.shadow: unknown limit {unknown[0]!r}")

    def limit(self, name: str) -> Limit:
        """The document limit called ``name`` (a key of :data:`SHADOW_LIMITS` but
        "time"), shadowed or not."""
        return Limit(
            SHADOW_LIMITS[name], getattr(self, _LIMIT_FIELDS[name]), shadow=name in self.shadow
        )
