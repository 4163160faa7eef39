"""Limits the guards enforce; one value, built once from the settings."""

from __future__ import annotations

from dataclasses import dataclass


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
