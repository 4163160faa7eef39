"""The one place a guard's limit check ends: refuse and log it, or (shadow mode) log
what would have been refused and let the request through.

Every refusal by a guard is one structlog warning ``graphql_guard_refused``; a breach
of a shadowed limit is one ``graphql_guard_shadow_refusal`` instead, and nothing is
refused. Both carry the same fields, so a rollout can be read off the logs before the
limit is enforced:

- ``rule``: the :class:`GuardCode` (``DEPTH_LIMIT_EXCEEDED``, ...);
- ``limit`` / ``measured``: the configured limit and what the request measured
  (``None`` for refusals that are not limits: introspection, mutations in a batch,
  the parser's nesting refusal);
- ``principal``: ``{"kind", "id"}`` (user id or partner API key id; never a name or
  an address);
- ``operation_hash``: sha256 hex of the query text (``None`` for a pre-parsed
  document; of its first :data:`HASHED_CHARS_MAX` characters for a longer text, which
  then also carries ``hashed_chars``, so a refusal costs no more the bigger the
  document),
  ``operation_name`` (cut to 128 characters; for a time-out, which the
  HTTP layer reports, only a name the client sent), ``request_id``.

The query text and the variables are never logged: they may hold personal data.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Protocol

import structlog
from graphql import GraphQLError, Node

from schema.guards.context import context_value
from schema.guards.errors import GuardCode, refusal

REFUSED_EVENT = "graphql_guard_refused"
SHADOW_EVENT = "graphql_guard_shadow_refusal"
_MAX_OPERATION_NAME = 128

_log = structlog.get_logger("schema.guards")

# Refusal messages of the limits, formatted with ``limit`` and ``measured``.
_MESSAGES: dict[GuardCode, str] = {
    GuardCode.DOCUMENT_TOO_LARGE: "Document is longer than {limit} characters.",
    GuardCode.TOO_MANY_TOKENS: "Document contains more than {limit} tokens.",
    GuardCode.TOO_MANY_ALIASES: "Document uses more than {limit} aliases.",
    GuardCode.TOO_MANY_DIRECTIVES: "Document uses more than {limit} directives.",
    GuardCode.DEPTH_LIMIT_EXCEEDED: "Document nests fields deeper than {limit} levels.",
    GuardCode.TOO_MANY_MUTATIONS: "Request runs more than {limit} mutations.",
    GuardCode.TOO_MANY_OPERATIONS: "Request batches more than {limit} operations.",
    GuardCode.COST_LIMIT_EXCEEDED: "Query cost {measured} exceeds the maximum of {limit}.",
    GuardCode.EXECUTION_TIMEOUT: (
        "The request took longer than {limit:g} seconds and was stopped."
    ),
}


@dataclass(frozen=True, slots=True)
class Limit:
    """One configured limit: the rule it enforces, its (inclusive) value, and whether it
    is only shadowed (logged, never refused)."""

    rule: GuardCode
    value: int | float
    shadow: bool = False

    def __post_init__(self) -> None:
        if self.rule not in _MESSAGES:
            raise ValueError(f"{self.rule} is not a limit")


class Subject(Protocol):
    """What a verdict is about; strawberry's ``ExecutionContext`` is one."""

    @property
    def context(self) -> Any: ...
    @property
    def query(self) -> str | None: ...
    @property
    def operation_name(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class RequestSubject:
    """A :class:`Subject` for callers outside an extension (the HTTP layer).
    ``sha256``: the operation's id when the request named one instead of sending text."""

    context: Any
    query: str | None
    operation_name: str | None
    sha256: str | None = None


def check_limit(
    subject: Subject,
    limit: Limit,
    measured: int | float,
    nodes: Collection[Node] | Node | None = None,
) -> GraphQLError | None:
    """``None`` when ``measured`` is within ``limit`` (inclusive) or the limit is
    shadowed (then one shadow event is logged); otherwise the refusal, already logged
    as one ``graphql_guard_refused`` event. Return the error to the client as is."""
    if measured <= limit.value:
        return None
    if limit.shadow:
        _log.warning(SHADOW_EVENT, **_fields(subject, limit.rule, limit.value, measured))
        return None
    return refuse_over_limit(subject, limit, measured, nodes)


def refuse_over_limit(
    subject: Subject,
    limit: Limit,
    measured: int | float,
    nodes: Collection[Node] | Node | None = None,
) -> GraphQLError:
    """The refusal of a breach already enforced (a time-out that fired); logged once."""
    log_refusal(subject, limit.rule, limit=limit.value, measured=measured)
    message = _MESSAGES[limit.rule].format(limit=limit.value, measured=measured)
    if limit.rule is GuardCode.COST_LIMIT_EXCEEDED:
        return refusal(message, limit.rule, nodes, cost=measured, maxCost=limit.value)
    if limit.rule is GuardCode.EXECUTION_TIMEOUT:
        return refusal(message, limit.rule, nodes)
    return refusal(message, limit.rule, nodes, limit=limit.value)


def refuse(subject: Subject, rule: GuardCode, message: str) -> GraphQLError:
    """A refusal that is not a limit (no shadow mode); logged once."""
    log_refusal(subject, rule)
    return refusal(message, rule)


def event_fields(subject: Subject) -> dict[str, Any]:
    """The fields every guard event carries, without rule and limits (for other events
    about a request, such as an unknown persisted operation)."""
    fields = _fields(subject, GuardCode.BAD_USER_INPUT, None, None)
    for name in ("rule", "limit", "measured"):
        del fields[name]
    return fields


def log_refusal(
    subject: Subject,
    rule: GuardCode,
    *,
    limit: int | float | None = None,
    measured: int | float | None = None,
) -> None:
    """Log the refusal event for an error made elsewhere (the parser, a validation
    rule); call it once per refused request."""
    _log.warning(REFUSED_EVENT, **_fields(subject, rule, limit, measured))


# Refusing a document must not cost more the bigger the attacker makes it: an event
# hashes at most this many characters (above any admissible document: the length limit
# is 20,000, so every document that could run is hashed whole), and says so when it
# stopped short. SHA-256 of 32,768 characters: ≈ 19 µs here (of 65,536: 38).
HASHED_CHARS_MAX = 32_768


def operation_hash(query: str | None) -> str | None:
    """SHA-256 (hex) of the document's first :data:`HASHED_CHARS_MAX` characters: of the
    whole document unless it is longer (then the event also carries ``hashed_chars``)."""
    if query is None:
        return None
    return hashlib.sha256(query[:HASHED_CHARS_MAX].encode()).hexdigest()


def principal_reference(principal: Any) -> dict[str, str | None]:
    """``{"kind", "id"}`` of a principal: enough to find it, nothing personal."""
    kind = getattr(principal, "kind", None)
    if kind == "partner":
        identifier = getattr(principal, "api_key_id", None)
    else:
        identifier = getattr(principal, "user_id", None)
    return {
        "kind": str(kind) if kind is not None else None,
        "id": str(identifier) if identifier is not None else None,
    }


def _fields(
    subject: Subject,
    rule: GuardCode,
    limit: int | float | None,
    measured: int | float | None,
) -> dict[str, Any]:
    context = subject.context
    operation_name = subject.operation_name
    named = getattr(subject, "sha256", None)
    query = subject.query
    fields: dict[str, Any] = {
        "rule": rule.value,
        "limit": _rounded(limit),
        "measured": _rounded(measured),
        "principal": principal_reference(context_value(context, "principal")),
        "operation_hash": named or operation_hash(query),
        "operation_name": operation_name[:_MAX_OPERATION_NAME] if operation_name else None,
        "request_id": context_value(context, "request_id"),
    }
    if not named and query is not None and len(query) > HASHED_CHARS_MAX:
        fields["hashed_chars"] = HASHED_CHARS_MAX
    return fields


def _rounded(value: int | float | None) -> int | float | None:
    # Seconds: milliseconds are enough, and the clock's float noise is not news.
    return round(value, 3) if isinstance(value, float) else value
