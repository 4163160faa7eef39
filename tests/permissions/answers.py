"""Reading one field's answer from the probe and judging it against the table's access.

Shared by the generated matrix tests: which selection asks for a field, how a raw value
looks in JSON, and whether an answer is the full value, the masked value or a denial.
"""

from __future__ import annotations

import enum
import re
import uuid
from datetime import datetime
from typing import Any

from graphql import GraphQLObjectType, get_named_type

from permissions.policy import Access, Level
from privacy.masking import mask
from tests.permissions.probe import PRODUCT_SCHEMA


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def serialised(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def selection(type_name: str, field_name: str) -> str:
    graphql_type = PRODUCT_SCHEMA._schema.type_map[type_name]
    assert isinstance(graphql_type, GraphQLObjectType), type_name
    field = graphql_type.fields[field_name]
    arguments = "(first: 5)" if "first" in field.args else ""
    named = get_named_type(field.type)
    inner = " { __typename }" if isinstance(named, GraphQLObjectType) else ""
    return f"{field_name}{arguments}{inner}"


def check_answer(
    field: str,
    path: list[str | int],
    value: Any,
    errors: list[Any],
    raw: Any,
    expected: Access,
    has_raw: bool,
) -> str | None:
    at_path = [e for e in errors if e.path == path]
    if expected.level is Level.DENIED:
        if value is not None or [e.extensions.get("code") for e in at_path] != ["FORBIDDEN"]:
            return f"{field}: expected denied, got {value!r} with {[e.formatted for e in errors]}"
        return None
    if errors:
        return f"{field}: expected {expected}, got errors {[e.formatted for e in errors]}"
    if expected.level is Level.MASKED:
        if value != mask(raw, expected.strategy) or (raw and value == raw):
            return f"{field}: expected {expected} of {raw!r}, got {value!r}"
    elif has_raw and value != serialised(raw):
        return f"{field}: expected full {raw!r}, got {value!r}"
    return None
