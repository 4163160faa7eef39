"""The query-cost budget: charged before execution, refunded to the actual cost."""

from __future__ import annotations

from typing import Any

import pytest

import schema.guards.cost
from api.limits import LimitClass, Limiter
from permissions.principal import Principal
from permissions.roles import Role
from schema.build import SchemaConfig, build_schema
from schema.context import RequestContext
from tests.factories import make_ticket, make_user, principal_of
from tests.limits.conftest import LimiterFactory

pytestmark = pytest.mark.usefixtures("db")

SCHEMA = build_schema(SchemaConfig(production=False))
TICKETS = "query($first: Int!) { tickets(first: $first) { edges { node { id subject } } } }"


async def run(limiter: Limiter, principal: Principal, first: int) -> Any:
    context = RequestContext.for_principal(principal, rate_limiter=limiter)
    return await SCHEMA.execute(TICKETS, variable_values={"first": first}, context_value=context)


@pytest.fixture
async def agent() -> Principal:
    return principal_of(await make_user(Role.agent))


async def test_the_budget_is_charged_only_the_actual_cost(
    make_limiter: LimiterFactory, agent: Principal
) -> None:
    limiter = make_limiter({LimitClass.COST: "100/minute"})

    result = await run(limiter, agent, first=20)

    cost = result.extensions["cost"]
    assert result.errors is None
    assert cost["requested"] > cost["actual"] >= 1  # no tickets: far less than asked for
    assert cost["budgetRemaining"] == 100 - cost["actual"]
    assert cost["resetAt"].endswith("Z")
    # The store agrees: the refund really went back.
    probe = await limiter.hit(LimitClass.COST, key=f"user:{agent.user_id}", cost=1)
    assert probe.remaining == 100 - cost["actual"] - 1


async def test_a_request_over_the_budget_is_refused_before_execution(
    make_limiter: LimiterFactory, agent: Principal
) -> None:
    limiter = make_limiter({LimitClass.COST: "30/minute"})
    requested = (await run(make_limiter({LimitClass.COST: "1000/minute"}), agent, 20)).extensions[
        "cost"
    ]["requested"]
    assert requested > 30

    result = await run(limiter, agent, first=20)

    assert result.data is None
    error = result.errors[0]
    assert error.extensions["code"] == "RATE_LIMITED"
    assert 1 <= error.extensions["retryAfter"] <= 60
    assert result.extensions["cost"]["budgetRemaining"] == 30


async def test_budgets_are_per_principal(make_limiter: LimiterFactory, agent: Principal) -> None:
    limiter = make_limiter({LimitClass.COST: "100/minute"})
    other = principal_of(await make_user(Role.agent))
    for _ in range(3):
        await limiter.hit(LimitClass.COST, key=f"user:{agent.user_id}", cost=30)

    result = await run(limiter, other, first=5)

    assert result.errors is None
    assert result.extensions["cost"]["budgetRemaining"] == 100 - result.extensions["cost"]["actual"]


async def test_without_a_limiter_no_budget_is_reported(agent: Principal) -> None:
    context = RequestContext.for_principal(agent)

    result = await SCHEMA.execute(TICKETS, variable_values={"first": 5}, context_value=context)

    assert "budgetRemaining" not in result.extensions["cost"]


async def test_the_cost_is_computed_once_for_the_limit_and_the_budget(
    make_limiter: LimiterFactory, agent: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    computed: list[int] = []
    original = schema.guards.cost.requested_cost

    def counted(*args: Any, **options: Any) -> int:
        cost = original(*args, **options)
        computed.append(cost)
        return cost

    monkeypatch.setattr(schema.guards.cost, "requested_cost", counted)
    limiter = make_limiter({LimitClass.COST: "1000/minute"})

    result = await run(limiter, agent, first=5)

    assert result.errors is None
    cost = result.extensions["cost"]
    assert computed == [cost["requested"]]  # CostLimit's, handed over to the budget
    assert cost["budgetRemaining"] == 1000 - cost["actual"]


async def test_the_result_is_counted_once_for_the_report_and_the_refund(
    make_limiter: LimiterFactory, agent: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_ticket(await make_user())  # a customer's ticket: agents see it
    counted: list[int] = []
    original = schema.guards.cost.count_objects

    def counting(data: object) -> int:
        counted.append(original(data))
        return counted[-1]

    monkeypatch.setattr(schema.guards.cost, "count_objects", counting)
    limiter = make_limiter({LimitClass.COST: "1000/minute"})

    result = await run(limiter, agent, first=5)

    assert result.errors is None
    cost = result.extensions["cost"]
    assert counted == [cost["actual"]]  # one walk: CostLimit reports it, CostBudget refunds to it
    assert cost["actual"] >= 2  # the connection and a ticket: a real result was counted
    assert cost["budgetRemaining"] == 1000 - cost["actual"]
