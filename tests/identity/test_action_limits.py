"""The per-action limits (login, TOTP, reset, ...): what each mutation is charged, that
they are charged with the request's other limits before execution, and that a refused
call answers RATE_LIMITED without running."""

from __future__ import annotations

import inspect
import ipaddress
from types import SimpleNamespace
from typing import Any

import pytest
from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse
from graphql.execution.values import get_variable_values
from strawberry.tools import merge_types

from accounts.services import password_flows
from accounts.services.identity import Identity
from api.limits import LimitClass, Limiter, RateLimitConfig
from schema.action_limits import ACTION_LIMITS, ActionCall, action_calls
from schema.build import OpenDeskSchema, SchemaConfig, build_schema
from schema.context import RequestContext
from schema.guards.budget import _leave_verdicts
from schema.identity_fields import IdentityMutation, IdentityQuery
from schema.privacy_fields import PrivacyMutation

pytestmark = pytest.mark.usefixtures("db")

SCHEMA = build_schema(SchemaConfig(production=False))
CLIENT = ipaddress.ip_address("192.0.2.1")
RESET = 'mutation { requestPasswordReset(email: "someone@example.com") }'


def limiter(**rates: str) -> Limiter:
    """The product's limiter in process memory, every class generous but ``rates``."""
    defaults = dict.fromkeys(LimitClass, "1000/minute")
    return Limiter(
        RateLimitConfig.build({**defaults, **{LimitClass(k): v for k, v in rates.items()}})
    )


def test_subject_keys_never_carry_the_email_in_clear() -> None:
    context = RequestContext(client_ip=CLIENT)

    charges = ACTION_LIMITS["login"](
        context, limiter(), {"email": " Alice@Example.com", "totp": "123456"}
    )

    assert [cls for cls, _key in charges] == ["login", "totp", "totp"]
    assert charges[0][1] == charges[1][1] == "ip:192.0.2.1"
    assert charges[2][1].startswith("subject:")
    assert all("alice" not in key.lower() for _cls, key in charges)
    same = ACTION_LIMITS["login"](context, limiter(), {"email": "alice@example.com", "totp": "1"})
    assert same == charges  # trimmed and case-folded first


def calls_in(document: str, variables: dict[str, Any] | None = None) -> list[tuple[str, list]]:
    parsed = parse(document)
    operation = next(d for d in parsed.definitions if isinstance(d, OperationDefinitionNode))
    fragments = {
        d.name.value: d for d in parsed.definitions if isinstance(d, FragmentDefinitionNode)
    }
    schema = SCHEMA._schema
    coerced = get_variable_values(schema, operation.variable_definitions or (), variables or {})
    assert not isinstance(coerced, list)
    found = action_calls(
        schema, fragments, operation, coerced, RequestContext(client_ip=CLIENT), limiter()
    )
    return [(call.response_key, call.charges) for call in found]


def test_every_call_the_operation_will_run_is_found() -> None:
    document = """
    mutation($skip: Boolean!, $email: String!) {
      first: requestPasswordReset(email: $email)
      second: requestPasswordReset(email: "b@example.com") @skip(if: $skip)
      ... on Mutation { third: resetPassword(token: "t", newPassword: "p") }
      ...More
      logout
    }
    fragment More on Mutation {
      fourth: register(
        email: "c@example.com", displayName: "C", organisationName: "O", password: "p"
      ) @include(if: true)
    }
    """

    found = calls_in(document, {"skip": True, "email": "a@example.com"})

    assert [key for key, _ in found] == ["first", "third", "fourth"]  # logout: no limit
    assert [cls for cls, _ in found[0][1]] == ["password_reset", "password_reset"]
    assert found[0][1] == ACTION_LIMITS["requestPasswordReset"](
        RequestContext(client_ip=CLIENT), limiter(), {"email": "a@example.com"}
    )


def test_queries_are_never_charged_action_limits() -> None:
    assert calls_in("{ me { id } }") == []


async def run(limits: Limiter, identity: Identity, document: str) -> Any:
    context = RequestContext(rate_limiter=limits, client_ip=CLIENT, identity=identity)
    return await SCHEMA.execute(document, context_value=context)


async def test_over_the_limit_the_call_is_refused_with_retry_after(
    identity: Identity, monkeypatch: pytest.MonkeyPatch
) -> None:
    limits = limiter(password_reset="2/minute")
    reached: list[str] = []
    original = password_flows.request_password_reset

    async def recorded(identity: Identity, email: str) -> None:
        reached.append(email)
        await original(identity, email)

    monkeypatch.setattr(password_flows, "request_password_reset", recorded)

    answers = [await run(limits, identity, RESET) for _ in range(3)]

    assert [a.errors for a in answers[:2]] == [None, None]
    refused = answers[2].errors[0]
    assert refused.extensions["code"] == "RATE_LIMITED"
    assert 1 <= refused.extensions["retryAfter"] <= 60
    assert len(reached) == 2  # the refused call never reached the service


def test_every_declared_action_is_a_mutation_of_the_schema() -> None:
    # A renamed field would lose its prepaid verdict and its resolver's own charge.
    mutation = SCHEMA._schema.mutation_type
    assert mutation is not None

    assert set(ACTION_LIMITS) <= set(mutation.fields)


def test_every_resolver_enforcing_action_limits_is_declared() -> None:
    # A resolver missing from the table would find no verdict and no charges to make.
    enforcing = set()
    for root in (IdentityMutation, PrivacyMutation):
        for field in root.__strawberry_definition__.fields:  # type: ignore[attr-defined]
            source = inspect.getsource(field.base_resolver.wrapped_func)
            if "enforce_action_limits" in source or "_limit_requests" in source:
                enforcing.add(SCHEMA.config.name_converter.get_graphql_name(field))

    assert enforcing == set(ACTION_LIMITS)


def test_calls_after_a_refused_charge_are_refused_with_it() -> None:
    # One authentication mutation per request (OneAuthenticationPerRequest) keeps real
    # documents to one such call; the verdicts must still hold for several.
    calls = [ActionCall("a", [("x", "1"), ("x", "2")]), ActionCall("b", [("y", "1")])]
    calls.append(ActionCall("c", [("z", "1")]))
    cost, allowed = SimpleNamespace(allowed=True), SimpleNamespace(allowed=True)
    refused = SimpleNamespace(allowed=False, retry_after=7)
    verdicts: dict[str, Any] = {"stale": refused}

    _leave_verdicts(verdicts, calls, [cost, allowed, allowed, refused])

    assert verdicts == {"a": None, "b": refused, "c": refused}
    _leave_verdicts(verdicts, calls, [cost, allowed, allowed, allowed, allowed])
    assert verdicts == {"a": None, "b": None, "c": None}
    _leave_verdicts(verdicts, calls, [cost, allowed, refused])  # a's second charge
    assert verdicts == {"a": refused, "b": refused, "c": refused}


async def test_without_the_budget_guard_the_resolver_charges_itself(
    identity: Identity,
) -> None:
    # The schema's own roots, without its extensions: no budget guard leaves verdicts.
    bare = OpenDeskSchema(
        query=merge_types("Query", (IdentityQuery,)),
        mutation=merge_types("Mutation", (IdentityMutation,)),
    )
    limits = limiter(password_reset="1/minute")
    context = RequestContext(rate_limiter=limits, client_ip=CLIENT, identity=identity)

    first = await bare.execute(RESET, context_value=context)
    second = await bare.execute(RESET, context_value=context)

    assert first.errors is None
    assert second.errors[0].extensions["code"] == "RATE_LIMITED"
