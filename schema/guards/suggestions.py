"""No "Did you mean ...?" in error messages: they leak the schema to a prober.

strawberry's ``disable_field_suggestions`` strips only field-name hints, and
graphql-core 3.3's ``hide_suggestions`` flag is not forwarded by strawberry's
validate/execute calls, so this rewrites messages after validation (fields,
arguments, types, enum literals) and after execution (variable coercion, where
wrong enum values in variables are reported).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

# graphql-core's did_you_mean(): " Did you mean 'a', 'b', or 'c'?" (names hold no "?").
_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


def strip_suggestions(errors: Iterable[GraphQLError] | None) -> None:
    """Remove every suggestion from the messages of ``errors``, in place."""
    for error in errors or ():
        if "Did you mean" in error.message:
            error.message = _SUGGESTION.sub("", error.message).strip()


class NoSuggestions(SchemaExtension):
    def on_validate(self) -> Iterator[None]:
        yield
        strip_suggestions(self.execution_context.pre_execution_errors)

    def on_execute(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None:
            strip_suggestions(result.errors)
