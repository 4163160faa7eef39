"""The scenarios, one function each: ``scenario(bench) -> list[Figure]``.

To add a scenario, write one function here (or in a module of its own, such as
``bench/identity_scenarios.py``; measure with ``bench.measure`` inside ``interleave`` so
every figure is an A/B pair) and append it to ``SCENARIOS``.
A scenario first checks, with one real request, that the servers answer what it
means to measure: a benchmark of error responses is worse than none.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from typing import Any

from bench.context import Bench, answer, first_error_code
from bench.documents import guard_probes
from bench.guards_scenario import guards_overhead
from bench.identity_scenarios import argon2_cost, decryption_overhead, limiter_overhead
from bench.login_scenario import login_p99
from bench.persisted_scenario import persisted_operation
from bench.policy_scenario import policy_overhead
from bench.privacy_scenario import privacy_scale
from bench.scenario_support import ScenarioError, check_tickets, load_figures
from bench.servers import Server
from bench.stats import Figure, Spread, Target, at_least, interleave
from bench.wrk import Load, WrkResult

Scenario = Callable[[Bench], list[Figure]]
# The four hostile documents (the flood sends these).
HOSTILE = ("aliases_5000", "depth_200", "fields_1mb", "comment_1mb")
# Each timed on its own: the four, and the big two just under the body limit (judged by
# the GraphQL layer's document-length guard rather than refused from their length).
REFUSED = (*HOSTILE, "fields_under_limit", "comment_under_limit")
REFUSAL_TARGET_MS = 2.0
SOAK_LATE_GROWTH_MIB = 2.0


def _check_me(response: dict[str, Any]) -> None:
    me = (response.get("data") or {}).get("me")
    if not me or me.get("displayName") != "Bench Agent":
        raise ScenarioError(f"`me` is not the bench agent: {str(response)[:300]}")


def _measured(
    bench: Bench, server: Server, load: Load, memory: list[float]
) -> Callable[[], WrkResult]:
    """A run of ``load`` on ``server`` that also records its largest worker RSS after it."""

    def run() -> WrkResult:
        result = bench.measure(server, load)
        memory.append(max(server.worker_rss_mib()))
        return result

    return run


def _memory_figure(
    scenario: str, a_label: str, b_label: str, a: list[float], b: list[float]
) -> Figure:
    return Figure(scenario, "largest worker RSS after run", "MiB", a_label, b_label, a, b)


def _product_vs_comparator(
    bench: Bench, name: str, check: Callable[[dict[str, Any]], None]
) -> list[Figure]:
    for server in (bench.comparator, bench.product):
        check(answer(server, bench.documents[name]))
        bench.warm_up(server, name)
    load = bench.load(name)
    memory_a: list[float] = []
    memory_b: list[float] = []
    a, b = interleave(
        bench.plan.rounds,
        _measured(bench, bench.comparator, load, memory_a),
        _measured(bench, bench.product, load, memory_b),
    )
    figures = load_figures(name, "comparator", "product", a, b)
    figures[0].target = at_least(figures[0].ratios, 0.90)
    figures.append(_memory_figure(name, "comparator", "product", memory_a, memory_b))
    return figures


def me_throughput(bench: Bench) -> list[Figure]:
    """`me` (one user lookup): hardened product vs plain Strawberry + Litestar."""
    return _product_vs_comparator(bench, "me", _check_me)


def tickets_throughput(bench: Bench) -> list[Figure]:
    """20 tickets with requester and 5 comments each: product vs comparator."""
    return _product_vs_comparator(bench, "tickets", check_tickets)


def hostile_refusal(bench: Bench) -> list[Figure]:
    """Time to refuse each hostile document (one connection), paired with `me`'s time."""
    codes = {
        name: first_error_code(answer(bench.product, bench.documents[name])) for name in REFUSED
    }
    names = ["me", *REFUSED]
    for name in names:
        bench.warm_up(bench.product, name)
    p50: dict[str, list[float]] = {name: [] for name in names}
    p99: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(bench.plan.rounds):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            load = bench.load(name, connections=1, seconds=bench.plan.refusal_seconds)
            result = bench.measure(bench.product, load)
            p50[name].append(result.p50_ms)
            p99[name].append(result.p99_ms)
    figures = []
    for name in REFUSED:
        figure = Figure(
            f"refuse {name}",
            "p50 (1 conn)",
            "ms",
            "product me",
            f"product {name}",
            p50["me"],
            p50[name],
        )
        refused = codes[name] is not None
        median = Spread.of(p50[name]).median
        figure.target = Target(
            f"B < {REFUSAL_TARGET_MS:g} ms, refused", refused and median < REFUSAL_TARGET_MS
        )
        figure.notes.append(f"answer code: {codes[name] or 'NOT REFUSED (no error)'}")
        figure.notes.append(f"p99 ms per round: {[round(value, 2) for value in p99[name]]}")
        figures.append(figure)
    for name, probe in guard_probes().items():
        code = first_error_code(answer(bench.product, probe))
        bench.notes.append(
            f"guard probe {name} (just over the default limit, not timed): "
            + (f"refused with {code}" if code else "NOT REFUSED: the query executed")
        )
    return figures


def hostile_flood(bench: Bench) -> list[Figure]:
    """Normal `me` throughput alone vs while hostile documents arrive at the same time
    from a second wrk process, on as many connections:

    - an equal stream (the target): each hostile connection paced so that, together,
      they send about as many documents a second as `me` is answered alone;
    - back to back (no target): the hostile connections send as fast as they are
      answered, so the cheaper a refusal, the more of them arrive (the closed loop
      measured before 2026-12-04, when it was the target's figure)."""
    normal = bench.load("me")
    bench.warm_up(bench.product, "me", *HOSTILE)
    unattacked = bench.measure(bench.product, normal).requests_per_second
    back_to_back = bench.load(*HOSTILE)
    # wrk's delay() comes on top of each answer's own latency (about a millisecond).
    pace_ms = max(1, round(1000 * back_to_back.connections / max(unattacked, 1.0)) - 1)
    equal = dataclasses.replace(back_to_back, delay_ms=pace_ms)
    figures = _under_flood(bench, normal, equal, "me under an equal hostile stream")
    figures[0].target = at_least(figures[0].ratios, 0.80)
    figures[0].notes.append(
        f"each of the {equal.connections} hostile connections waits {pace_ms} ms before its "
        f"next document (`me` alone answered {unattacked:.0f}/s before the rounds)"
    )
    return figures + _under_flood(
        bench, normal, back_to_back, "me under hostile documents back to back"
    )


def _under_flood(bench: Bench, normal: Load, hostile: Load, scenario: str) -> list[Figure]:
    flood_rates: list[float] = []

    def under_flood() -> WrkResult:
        flood = bench.wrk.start(bench.product, hostile)
        try:
            return bench.measure(bench.product, normal)
        finally:
            flood_rates.append(bench.wrk.finish(flood, hostile).requests_per_second)

    a, b = interleave(bench.plan.rounds, lambda: bench.measure(bench.product, normal), under_flood)
    figures = load_figures(scenario, "alone", "with flood", a, b)
    alone = [result.requests_per_second for result in a]
    figures[0].notes.append(
        "hostile documents answered per second during the flood: "
        f"{[round(rate) for rate in flood_rates]} (`me` alone: {[round(rate) for rate in alone]})"
    )
    figures[0].notes.append(
        "`me` answers lost per hostile document answered (what one costs the serving core, "
        "in `me` requests; B/A = 1 - this * hostile answers/s / `me`/s alone): "
        f"{_lost_per_hostile(a, b, flood_rates)}"
    )
    return figures


def _lost_per_hostile(
    alone: list[WrkResult], flooded: list[WrkResult], flood_rates: list[float]
) -> list[float]:
    """Per round: (`me`/s alone - `me`/s with the flood) / hostile answers/s."""
    return [
        round((a.requests_per_second - b.requests_per_second) / rate, 2) if rate else math.nan
        for a, b, rate in zip(alone, flooded, flood_rates, strict=True)
    ]


# One client far past its per-address limit (the default 300/minute) behind the trusted
# proxy; the normal clients each come from their own address (bench.wrk's forwarded_for).
FLOOD_ADDRESS = "203.0.113.7"
IP_FLOOD_SETTINGS = {
    "OPENDESK_TRUSTED_PROXIES": '["127.0.0.1/32"]',
    "OPENDESK_RATE_LIMIT_IP": "300/minute",
}


def ip_flood(bench: Bench) -> list[Figure]:
    """Normal `me` alone vs while one client address floods (an equal stream, same
    connections): the flood is refused 429 by the per-address limit at the edge, before
    its body is read; what it costs the others is the figure."""
    with bench.extra_product(
        1, bench.placement.server, environment=IP_FLOOD_SETTINGS, name="product-ip-flood"
    ) as server:
        normal = dataclasses.replace(bench.load("me"), forwarded_for=True)
        flood = dataclasses.replace(bench.load("me"), client_address=FLOOD_ADDRESS)
        flood_results: list[WrkResult] = []

        def under_flood() -> WrkResult:
            process = bench.wrk.start(server, flood)
            try:
                return bench.measure(server, normal)
            finally:
                flood_results.append(bench.wrk.finish(process, flood))

        bench.wrk.run(server, dataclasses.replace(normal, seconds=bench.plan.warmup_seconds))
        a, b = interleave(bench.plan.rounds, lambda: bench.measure(server, normal), under_flood)
    figures = load_figures("me while one address floods", "alone", "with flood", a, b)
    refused = [
        f"{round(r.requests_per_second)}/s ({r.non_2xx} of {r.requests} refused)"
        for r in flood_results
    ]
    figures[0].notes.append(f"the flooding address's requests per round: {refused}")
    return figures


def workers(bench: Bench) -> list[Figure]:
    """tickets on 1 vs 2 uvicorn workers (both servers may use every core)."""
    scenario = "tickets 1 vs 2 workers"
    memory_a: list[float] = []
    memory_b: list[float] = []
    with (
        bench.extra_product(1, bench.placement.all_cpus) as one,
        bench.extra_product(2, bench.placement.all_cpus) as two,
    ):
        for server in (one, two):
            check_tickets(answer(server, bench.documents["tickets"]))
            bench.warm_up(server, "tickets")
        load = bench.load("tickets")
        a, b = interleave(
            bench.plan.rounds,
            _measured(bench, one, load, memory_a),
            _measured(bench, two, load, memory_b),
        )
        every_worker = two.worker_rss_mib()
    figures = load_figures(scenario, "1 worker", "2 workers", a, b)
    figures[0].target = at_least(figures[0].ratios, 1.7)
    figures[0].notes.append(
        "servers unpinned (all cores) in this scenario; wrk pinned as everywhere else"
    )
    memory = _memory_figure(scenario, "1 worker", "2 workers", memory_a, memory_b)
    memory.notes.append(f"each of the 2 workers at the end: {[round(v, 1) for v in every_worker]}")
    return [*figures, memory]


def memory_soak(bench: Bench) -> list[Figure]:
    """Product RSS over a soak of mixed traffic: tickets, me, hostile documents, and a
    new document text every fourth request (fills the bounded parser/validation caches)."""
    soak = bench.load(
        "tickets",
        "me",
        "aliases_5000",
        "comment_under_limit",
        seconds=bench.plan.soak_seconds,
        unique_every_fourth=True,
    )
    start = max(bench.product.worker_rss_mib())
    samples: list[float] = []
    process = bench.wrk.start(bench.product, soak)
    interval = bench.plan.soak_seconds / bench.plan.soak_samples
    began = time.monotonic()
    for index in range(1, bench.plan.soak_samples + 1):
        time.sleep(max(0.0, began + index * interval - 0.5 - time.monotonic()))
        samples.append(max(bench.product.worker_rss_mib()))
    result = bench.wrk.finish(process, soak)
    late_growth = samples[-1] - samples[len(samples) // 2 - 1]
    figure = Figure(
        "memory soak",
        f"RSS over {bench.plan.soak_seconds} s",
        "MiB",
        "at start",
        "sampled",
        [start] * len(samples),
        samples,
    )
    figure.target = Target(
        f"growth over 2nd half ≤ {SOAK_LATE_GROWTH_MIB:g} MiB", late_growth <= SOAK_LATE_GROWTH_MIB
    )
    figure.notes.append(
        f"{result.requests} requests ({result.requests_per_second:.0f}/s); growth over the "
        f"second half {late_growth:+.1f} MiB, over the whole soak {samples[-1] - start:+.1f} MiB"
    )
    return [figure]


SCENARIOS: tuple[Scenario, ...] = (
    me_throughput,
    tickets_throughput,
    persisted_operation,
    hostile_refusal,
    hostile_flood,
    ip_flood,
    workers,
    memory_soak,
    argon2_cost,
    login_p99,
    limiter_overhead,
    decryption_overhead,
    policy_overhead,
    guards_overhead,
    privacy_scale,
)
