"""Scenarios of the identity and privacy work: password hashing cost, the rate
limiter's overhead, the cost of contact data (login_p99 is in ``bench/login_scenario.py``).

Same rules as ``bench/scenarios.py``: every figure is an A/B pair from interleaved
rounds, and each scenario first checks with real requests that it measures what it
says. The limiter servers are started without the bench principal injection and are
used with real sessions from real ``login`` mutations. The in-process timings run as
pinned subprocesses (``bench/argon2_timing.py``, ``limiter_timing.py``,
``decryption_timing.py``) with the servers' settings.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from bench.context import Bench, answer
from bench.scenario_support import ScenarioError, load_figures
from bench.servers import REPOSITORY
from bench.sessions import check_session, delete_redis_prefix, login_users, sign_in
from bench.stats import Figure, Spread, at_most, interleave

BENCH_REDIS_URL = "redis://127.0.0.1:6379/14"
# Issue 8: decrypting a 50-row list's encrypted fields costs at most this share of it.
DECRYPTION_SHARE_TARGET = 0.05


def _run_timing(
    bench: Bench, module: str, runs: int, cpus: str | None, *arguments: str
) -> dict[str, Any]:
    """``python -m <module> RUNS …`` pinned to ``cpus``, with the servers' settings."""
    command = [sys.executable, "-m", module, str(runs), *arguments]
    if cpus is not None:
        command = ["taskset", "-c", cpus, *command]
    completed = subprocess.run(
        command,
        cwd=REPOSITORY,
        env=bench.environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if completed.returncode != 0:
        raise ScenarioError(f"{module} failed: {completed.stderr.strip()[-1500:]}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def argon2_cost(bench: Bench) -> list[Figure]:
    """argon2id hash and verify time, product default (t=3, 64 MiB, p=4) vs the OWASP
    minimum (t=2, 19 MiB, p=1), in-process through the product's PasswordHasher."""
    placements = [("1 server core", bench.placement.server)]
    if bench.placement.all_cpus is not None:
        placements.append((f"all CPUs ({bench.placement.all_cpus})", bench.placement.all_cpus))
    figures = []
    for where, cpus in placements:
        timings = _run_timing(bench, "bench.argon2_timing", bench.plan.argon2_runs, cpus)
        for operation in ("hash", "verify"):
            figure = Figure(
                f"argon2id {operation}, {where}",
                f"time per {operation}",
                "ms",
                "default t3 m64MiB p4",
                "OWASP min t2 m19MiB p1",
                timings["default"][f"{operation}_ms"],
                timings["owasp_minimum"][f"{operation}_ms"],
            )
            per_second = 1000 / Spread.of(figure.a_values).median
            figure.notes.append(
                f"{len(figure.a_values)} runs each; at the default one such {operation} "
                f"at a time gives ≈ {per_second:.1f}/s"
            )
            figures.append(figure)
    return figures


def _storages(bench: Bench) -> list[tuple[str, Callable[[str], dict[str, str]]]]:
    """Where the limiter counts: in process always; Redis too with PostgreSQL."""
    found: list[tuple[str, Callable[[str], dict[str, str]]]] = [("in-process", lambda _: {})]
    if bench.database_kind == "postgresql":
        found.append(
            (
                "Redis",
                lambda prefix: {
                    "OPENDESK_REDIS_URL": BENCH_REDIS_URL,
                    "OPENDESK_REDIS_PREFIX": prefix,
                },
            )
        )
    return found


def limiter_overhead(bench: Bench) -> list[Figure]:
    """`me` (real session) with OPENDESK_RATE_LIMITS_ENABLED=false vs true."""
    emails, password = login_users(bench)
    figures: list[Figure] = []
    for storage, settings_for in _storages(bench):
        run = secrets.token_hex(4)
        prefixes = {enabled: f"bench-{run}-{enabled}" for enabled in ("false", "true")}
        try:
            figures.extend(
                _limiter_pair(bench, storage, settings_for, prefixes, emails[2:4], password)
            )
            settings = settings_for(f"bench-{run}-inprocess")
            arguments = (
                [settings["OPENDESK_REDIS_URL"], f"bench-{run}-inprocess"] if settings else []
            )
            timings = _run_timing(
                bench,
                "bench.limiter_timing",
                bench.plan.argon2_runs,
                bench.placement.server,
                *arguments,
            )
            calls = Figure(
                f"limiter calls in-process ({storage})",
                "time per request",
                "µs",
                "limits off",
                "limits on",
                timings["off"],
                timings["on"],
            )
            calls.notes.append(
                "the Limiter calls of one signed-in request: per-address, per-user and "
                "cost charges in one batch, then the refund (limits out of reach)"
            )
            batched = Figure(
                f"limiter calls, one batch vs one call each ({storage})",
                "time per request",
                "µs",
                "one call per limit",
                "one batch",
                timings["separate"],
                timings["on"],
            )
            batched.notes.append(
                "the same charges and refund: one hit_many call (refund carried by the next "
                "batch) vs one call per limit and a refund call (four store round trips)"
            )
            figures.extend((calls, batched))
        finally:
            if storage == "Redis":
                removed = sum(delete_redis_prefix(BENCH_REDIS_URL, p) for p in prefixes.values())
                bench.notes.append(f"limiter_overhead: removed {removed} Redis keys of this run")
    return figures


def _limiter_pair(
    bench: Bench,
    storage: str,
    settings_for: Callable[[str], dict[str, str]],
    prefixes: dict[str, str],
    emails: list[str],
    password: str,
) -> list[Figure]:
    cpus = bench.placement.server
    with (
        bench.extra_product(
            1,
            cpus,
            environment={
                "OPENDESK_RATE_LIMITS_ENABLED": "false",
                **settings_for(prefixes["false"]),
            },
            inject=False,
            name="product-limits-off",
        ) as off,
        bench.extra_product(
            1,
            cpus,
            environment={"OPENDESK_RATE_LIMITS_ENABLED": "true", **settings_for(prefixes["true"])},
            inject=False,
            name="product-limits-on",
        ) as on,
    ):
        sessions = [sign_in(off, emails[0], password), sign_in(on, emails[1], password)]
        for session, email in zip(sessions, emails, strict=True):
            name = "Login User " + email.removeprefix("login").split("@")[0]
            check_session(session, bench.documents["me"], name)
            bench.warm_up(session, "me")
        load = bench.load("me")
        a, b = interleave(
            bench.plan.rounds,
            lambda: bench.measure(sessions[0], load),
            lambda: bench.measure(sessions[1], load),
        )
    figures = load_figures(f"me, limiter ({storage})", "limits off", "limits on", a, b)
    figures[0].notes.append(
        "real session (customer); with limits on each request is charged to the client "
        "address (edge) and to the user (principal limit), limits out of reach"
    )
    return figures


def decryption_overhead(bench: Bench) -> list[Figure]:
    """tickets(first: 50) with requester { displayName } vs { displayName email }, as the
    bench agent; plus, in-process, the users' row fetch vs the decrypting load."""
    for name in ("tickets50_no_email", "tickets50_email"):
        response = answer(bench.product, bench.documents[name])
        edges = (((response.get("data") or {}).get("tickets")) or {}).get("edges") or []
        requesters = [edge["node"]["requester"] for edge in edges]
        if response.get("errors") or len(edges) != 50 or not all(requesters):
            raise ScenarioError(f"{name}: not 50 tickets with requesters: {str(response)[:300]}")
        if name == "tickets50_email" and not all(r.get("email") for r in requesters):
            raise ScenarioError(f"{name}: a requester's email is missing: {str(response)[:300]}")
        bench.warm_up(bench.product, name)
    sample = requesters[0]["email"]
    a, b = interleave(
        bench.plan.rounds,
        lambda: bench.measure(bench.product, bench.load("tickets50_no_email")),
        lambda: bench.measure(bench.product, bench.load("tickets50_email")),
    )
    figures = load_figures("tickets(50) requesters", "no email", "with email", a, b)
    figures[0].notes.append(
        "contact data is opened only when a contact field is resolved (the users loader "
        "leaves it sealed; schema.loaders contacts opens a page's in one data-key query), "
        "so A opens no key and B - A is the email field whole: field policy (relation), "
        f"data-key query and decryption, masking (the agent sees e.g. {sample!r})"
    )
    timings = _run_timing(
        bench, "bench.decryption_timing", bench.plan.argon2_runs * 3, bench.placement.server
    )
    loading = Figure(
        f"load {timings['users']} requesters in-process",
        "time per load",
        "ms",
        "row fetch only",
        "users_by_ids",
        timings["fetch_ms"],
        timings["users_by_ids_ms"],
    )
    opening = Spread.of(timings["open_contacts_ms"])
    loading.notes.append(
        f"opened_contacts alone (data-key query + unwrap + AES-GCM decrypt): "
        f"{opening.median:.2f} ms [{opening.low:.2f}-{opening.high:.2f}]"
    )
    share = Figure(
        "decryption in a 50-row page, in-process",
        "time",
        "ms",
        "the page (tickets50_email)",
        "unwrap + decrypt its requesters",
        timings["page_ms"],
        timings["crypto_ms"],
    )
    share.target = at_most(share.ratios, DECRYPTION_SHARE_TARGET)
    share.notes.append(
        f"{timings['users']} distinct requesters; B/A is decryption's share of the page "
        f"(target <= {DECRYPTION_SHARE_TARGET:.0%}); with the data-key query as well "
        f"(opened_contacts) it would be {opening.median:.2f} ms"
    )
    return [*figures, loading, share]
