"""Batched requests (a JSON list of operations): off by default; when a cap is set,
only queries may be batched.

The HTTP layer checks the cap (:func:`batch_limit`) before any operation of the list is
parsed, through the verdict like every limit (so it logs, and can be shadowed);
strawberry's own ``batching_config`` only bounds what it will parse into a list at all
(:data:`BATCH_PARSE_CEILING`). Mutations are refused inside a batch because every
per-request rule about them (one authentication attempt, the mutation cap) counts per
operation: a batch of logins would otherwise be many attempts in one request.
"""

from __future__ import annotations

from graphql import DocumentNode, GraphQLError, OperationType

from schema.guards.config import GuardsConfig
from schema.guards.errors import GuardCode
from schema.guards.limits import DocumentGuard, operations
from schema.guards.verdict import Limit, refuse

# Longer lists are refused by strawberry while parsing (HTTP 400, no guard event); the
# 1 MB body limit comes first for any realistic document anyway.
BATCH_PARSE_CEILING = 1000


def batch_limit(config: GuardsConfig) -> Limit:
    """Operations one request may batch; 0 while batching is off (a list is refused)."""
    cap = config.max_operations_per_batch
    return Limit(GuardCode.TOO_MANY_OPERATIONS, cap if cap > 1 else 0, "batch" in config.shadow)


class NoMutationsInBatches(DocumentGuard):
    def check(self, document: DocumentNode) -> GraphQLError | None:
        if not getattr(self.execution_context.context, "in_batch", False):
            return None
        if any(op.operation is OperationType.MUTATION for op in operations(document)):
            return refuse(
                self.execution_context,
                GuardCode.MUTATION_IN_BATCH,
                "Mutations cannot be batched; send each in a request of its own.",
            )
        return None
