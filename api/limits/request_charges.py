"""What one request owes the rate limiter, settled in one store round trip.

A request is counted against its client address (at the edge), its principal (once
authenticated) and, for GraphQL, its query cost (once parsed and validated). Asking the
shared store at each of those points would be three round trips, plus one for the cost
refund. Instead each point *adds* its charge here, after refusing at once, with no I/O,
what this process already knows to be over its limit (:meth:`Limiter.known_refusal`).
The first :meth:`RequestCharges.settle` sends everything owed so far, with the caller's
own charge last, in one :meth:`Limiter.hit_many` call:

* the cost budget settles before execution (nothing executes on a refusal);
* routes that act on their own (downloads) settle before they act;
* whatever is still owed when the answer starts (parse errors, guard refusals, routes
  that do no work of their own) is settled by the edge then, which replaces the answer
  with 429 if the request itself was over its limit.

A refusal of a per-request limit (address, user, API key) refuses the whole request:
429, whatever the route was going to answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from api.edge._asgi import scope_state
from api.limits.config import LimitClass
from api.limits.limiter import Charge, LimitDecision, Limiter

__all__ = ("REQUEST_CHARGES_STATE_KEY", "RequestCharges", "request_charges")

REQUEST_CHARGES_STATE_KEY: Final = "rate_limit_charges"
DECISIONS_STATE_KEY: Final = "rate_limit_decisions"


class RequestCharges:
    """One request's charges; see the module docstring.

    ``decisions`` (shared with the edge, which turns them into ``RateLimit`` headers)
    receives the decisions on the per-request limits; ``refusal`` is the per-request
    limit that refused it, if one did.
    """

    __slots__ = ("_pending", "decisions", "limiter", "refusal")

    def __init__(self, limiter: Limiter, decisions: list[LimitDecision]) -> None:
        self.limiter = limiter
        self.decisions = decisions
        self.refusal: LimitDecision | None = None
        self._pending: list[Charge] = []

    @property
    def owed(self) -> bool:
        """True while charges wait to be settled."""
        return bool(self._pending)

    def add(self, limit_class: LimitClass, key: str) -> LimitDecision | None:
        """Owe one request to ``key``'s ``limit_class`` limit (a per-request class).

        Returns the refusal when this process already knows the key is over the limit:
        the caller answers 429 at once (nothing is owed then).
        """
        known = self.limiter.known_refusal(limit_class, key)
        if known is not None:
            self.decisions.append(known)
            self.refusal = known
            return known
        self._pending.append(Charge(limit_class, key))
        return None

    async def settle(self, own: Sequence[Charge] = ()) -> list[LimitDecision]:
        """Send what is owed, then ``own`` (the caller's charges), in one call.

        Returns the decisions taken; a refused one is the last, and nothing after it
        was charged. A refusal of an owed charge is also kept in :attr:`refusal`.
        """
        owed, self._pending = self._pending, []
        charges = [*owed, *own]
        if not charges:
            return []
        decisions = await self.limiter.hit_many(charges)
        # The per-request limits' decisions become RateLimit headers; the caller reports
        # its own (the cost budget: extensions.cost, after its refund).
        self.decisions.extend(decisions[: len(owed)])
        last = decisions[-1]
        if not last.allowed and len(decisions) <= len(owed):
            self.refusal = last
        return decisions

    async def settle_with(
        self, charges: Sequence[tuple[str, str, int]]
    ) -> list[LimitDecision] | None:
        """Settle with the caller's ``charges`` (``(class value, key, cost)``: the schema's
        cost budget cannot import :class:`LimitClass`), made after what is owed, in order
        until one is refused. Returns their decisions (a refused one last), or None when
        the request itself was refused (the edge answers 429; none of them was made)."""
        if self.refusal is not None:
            return None
        owed = len(self._pending)
        made = await self.settle([Charge(LimitClass(c), key, cost) for c, key, cost in charges])
        if self.refusal is not None:
            return None
        return made[owed:]


def request_charges(scope: Any, limiter: Limiter) -> RequestCharges:
    """The request's charges (made on first use: requests the edge did not see, tests)."""
    state = scope_state(scope)
    charges: RequestCharges | None = state.get(REQUEST_CHARGES_STATE_KEY)
    if charges is None:
        decisions: list[LimitDecision] = state.setdefault(DECISIONS_STATE_KEY, [])
        charges = state[REQUEST_CHARGES_STATE_KEY] = RequestCharges(limiter, decisions)
    return charges
