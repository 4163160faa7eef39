"""Request guards: limits on GraphQL documents, checked before anything executes."""

from schema.guards.build import GuardExtension, build_guard_extensions
from schema.guards.config import SHADOW_LIMITS, GuardsConfig
from schema.guards.cost import CostLimit, CostRefusal, count_objects, field_cost, requested_cost
from schema.guards.document import DocumentSizeLimit, ErrorCodes, TokenLimit
from schema.guards.errors import GuardCode, refusal
from schema.guards.introspection import IntrospectionDisabledRule, IntrospectionGate
from schema.guards.limits import AliasLimit, DepthLimit, DirectiveLimit, MutationLimit
from schema.guards.suggestions import NoSuggestions, strip_suggestions
from schema.guards.verdict import REFUSED_EVENT, SHADOW_EVENT, Limit, check_limit

__all__ = [
    "REFUSED_EVENT",
    "SHADOW_EVENT",
    "SHADOW_LIMITS",
    "AliasLimit",
    "CostLimit",
    "CostRefusal",
    "DepthLimit",
    "DirectiveLimit",
    "DocumentSizeLimit",
    "ErrorCodes",
    "GuardCode",
    "GuardExtension",
    "GuardsConfig",
    "IntrospectionDisabledRule",
    "IntrospectionGate",
    "Limit",
    "MutationLimit",
    "NoSuggestions",
    "TokenLimit",
    "build_guard_extensions",
    "check_limit",
    "count_objects",
    "field_cost",
    "refusal",
    "requested_cost",
    "strip_suggestions",
]
