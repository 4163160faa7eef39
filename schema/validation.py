"""Validation caching that respects an earlier refusal.

Strawberry's ValidationCache assigns its (cached) result to ``pre_execution_errors``
unconditionally, which would erase a refusal a guard made just before it (aliases,
depth, directives, mutations...) and let the document run. This keeps the refusal.
"""

from __future__ import annotations

from collections.abc import Iterator

from strawberry.extensions import ValidationCache


class ValidationCacheAfterGuards(ValidationCache):
    def on_validate(self) -> Iterator[None]:
        if self.execution_context.pre_execution_errors:
            yield
            return
        yield from super().on_validate()
