"""``guards_overhead``: what the request guards cost on normal queries (issue 5).

A is the same server with the guards stubbed out in the harness (``BENCH_STUB_GUARDS``,
bench/product_server.stub_guards: no size/token/alias/directive/depth/mutation/cost
limits, no introspection gate or error rewriting, no time limit; the cost budget, which
is the rate limiter's, stays); B is the product as served. Both have their parser and
validation caches. Target: B keeps ≥ 95% of A's throughput.

Both sides are servers started for this scenario: the suite's long-running product has
by now been through floods, logins and soaks (its stores and caches hold their traces),
which a fresh stubbed server has not; comparing the two measured that history too.
"""

from __future__ import annotations

from bench.context import Bench, answer, first_error_code
from bench.documents import guard_probes
from bench.product_server import STUB_GUARDS_VARIABLE
from bench.scenario_support import ScenarioError, load_figures
from bench.stats import Figure, at_least, interleave
from bench.wrk import Load, WrkResult

GUARDS_TARGET = 0.95
DOCUMENTS = ("me", "tickets")


def guards_overhead(bench: Bench) -> list[Figure]:
    probe = guard_probes()["aliases_16"]
    figures: list[Figure] = []
    with (
        bench.extra_product(
            1,
            bench.placement.server,
            environment={STUB_GUARDS_VARIABLE: "1"},
            name="product-guards-stubbed",
        ) as stubbed,
        bench.extra_product(1, bench.placement.server, name="product-guards-fresh") as served,
    ):
        # The two sides really differ: only the product refuses 16 aliases.
        guarded, unguarded = answer(served, probe), answer(stubbed, probe)
        if first_error_code(guarded) != "TOO_MANY_ALIASES" or unguarded.get("errors"):
            raise ScenarioError(f"guards on/off do not differ: {guarded} / {unguarded}")
        for name in DOCUMENTS:
            bench.warm_up(served, name)
            bench.warm_up(stubbed, name)
            load = bench.load(name)

            def without_guards(load: Load = load) -> WrkResult:
                return bench.measure(stubbed, load)

            def with_guards(load: Load = load) -> WrkResult:
                return bench.measure(served, load)

            off, on = interleave(bench.plan.rounds, without_guards, with_guards)
            found = load_figures(f"{name}, guards", "stubbed out", "enforced", off, on)
            found[0].target = at_least(found[0].ratios, GUARDS_TARGET)
            figures.extend(found)
    return figures
