"""The parser and validation caches hit for a repeated text (strawberry issue 4635: a
rule class built per request would make every validation a miss)."""

from __future__ import annotations

import uuid
from typing import Any

import graphql.language.parser
import pytest
import strawberry.schema.schema
from strawberry.extensions.validation_cache import _get_validate_cache

from permissions.principal import user_principal
from permissions.roles import Role
from schema.build import SchemaConfig, build_schema
from schema.context import RequestContext

pytestmark = pytest.mark.usefixtures("db")

# A cache size no other test uses: strawberry keeps one validation cache per size.
CACHE_SIZE = 509
QUERY = "query CachedTwice { me { id role } }"


def _ran(*_args: Any, **_kwargs: Any) -> Any:
    raise AssertionError("the repeated text went through this step again")


async def test_a_repeated_text_is_parsed_and_validated_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    schema = build_schema(SchemaConfig(production=True, cache_size=CACHE_SIZE))
    principal = user_principal(uuid.uuid4(), Role.customer, uuid.uuid4())
    validations = _get_validate_cache(CACHE_SIZE)
    validations.cache_clear()

    first = await schema.execute(QUERY, context_value=RequestContext.for_principal(principal))
    monkeypatch.setattr(graphql.language.parser.Parser, "parse_document", _ran)
    monkeypatch.setattr(strawberry.schema.schema, "validate", _ran)
    second = await schema.execute(QUERY, context_value=RequestContext.for_principal(principal))

    assert first.errors is None
    assert second.errors is None
    assert second.data == first.data
    cached = validations.cache_info()
    assert (cached.misses, cached.hits) == (1, 1)
