"""Reading per-request values from the GraphQL context value.

The context may be an object (attributes) or a mapping (strawberry's default dict
context); both are read the same way, so guards do not depend on how the HTTP layer
builds it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_MISSING = object()


def context_value(context: Any, name: str) -> Any:
    """Return ``context.<name>`` or ``context[name]``; ``None`` when absent."""
    if isinstance(context, Mapping):
        return context.get(name)
    value = getattr(context, name, _MISSING)
    return None if value is _MISSING else value


def context_flag(context: Any, name: str) -> bool:
    """True only when the context holds exactly ``True`` under ``name`` (fail closed)."""
    return context_value(context, name) is True
