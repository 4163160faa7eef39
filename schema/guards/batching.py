"""Batched requests (a JSON list of operations): off by default; when a cap is set,
only queries may be batched.

Strawberry enforces the cap itself (``batching_config``: a longer list is a 400 before
anything is parsed). Mutations are refused inside a batch because every per-request
rule about them (one authentication attempt, the mutation cap) counts per operation:
a batch of logins would otherwise be many attempts in one request.
"""

from __future__ import annotations

from graphql import DocumentNode, GraphQLError, OperationType

from schema.guards.errors import GuardCode, refusal
from schema.guards.limits import DocumentGuard, operations


class NoMutationsInBatches(DocumentGuard):
    def check(self, document: DocumentNode) -> GraphQLError | None:
        if not getattr(self.execution_context.context, "in_batch", False):
            return None
        if any(op.operation is OperationType.MUTATION for op in operations(document)):
            return refusal(
                "Mutations cannot be batched; send each in a request of its own.",
                GuardCode.MUTATION_IN_BATCH,
            )
        return None
