"""Scenarios of the identity and privacy work: password hashing cost, cheap-query latency
under a login stream, the rate limiter's overhead, the cost of contact data.

Same rules as ``bench/scenarios.py``: every figure is an A/B pair from interleaved
rounds, and each scenario first checks with real requests that it measures what it
says. Login and `me` here use real sessions from real ``login`` mutations on product
servers started without the bench principal injection.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.context import Bench, answer
from bench.documents import login_documents
from bench.scenario_support import ScenarioError, load_figures
from bench.servers import REPOSITORY, Server, delete_redis_prefix, sign_in
from bench.stats import Figure, Spread, Target, interleave
from bench.wrk import Load, WrkResult

LOGIN_P99_TARGET = 1.5
BENCH_REDIS_URL = "redis://127.0.0.1:6379/14"
# The login server trusts the loopback as its reverse proxy, so each login can come
# from its own client address (wrk sets X-Forwarded-For): the product's login lockout
# counts every attempt per address (100 per 15 minutes), successful ones included.
LOGIN_SERVER_SETTINGS = {"OPENDESK_TRUSTED_PROXIES": '["127.0.0.1/32"]'}


def _run_timing(bench: Bench, module: str, runs: int, cpus: str | None) -> dict[str, Any]:
    """``python -m <module> RUNS`` pinned to ``cpus``, with the servers' settings."""
    command = [sys.executable, "-m", module, str(runs)]
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


def _login_users(bench: Bench) -> tuple[list[str], str]:
    users = bench.seed.get("login_users") or {}
    emails, password = users.get("emails"), users.get("password")
    if not emails or not password:
        raise ScenarioError("the seed made no login users")
    return list(emails), str(password)


def _check_session(server: Server, document: Any, display_name: str | None = None) -> None:
    response = answer(server, document)
    me = (response.get("data") or {}).get("me")
    if not me or response.get("errors") or me.get("id") is None:
        raise ScenarioError(f"{server.name}: `me` has no signed-in user: {str(response)[:300]}")
    if display_name is not None and me.get("displayName") != display_name:
        raise ScenarioError(f"{server.name}: `me` is not {display_name}: {str(response)[:300]}")


def login_p99(bench: Bench) -> list[Figure]:
    """`{ me { id } }` (real session) alone vs while a second wrk sends correct logins."""
    emails, password = _login_users(bench)
    logins = Load(
        documents=login_documents(emails, password),
        connections=bench.plan.login_connections,
        seconds=bench.plan.seconds + 1,
        forwarded_for=True,
        count_graphql_errors=True,
    )
    with bench.extra_product(
        1,
        bench.placement.server,
        environment=LOGIN_SERVER_SETTINGS,
        inject=False,
        name="product-login",
    ) as server:
        session = sign_in(server, emails[0], password)
        _check_session(session, bench.documents["me_id"])
        check = answer(server, logins.documents[1])
        if check.get("errors") or not (check.get("data") or {}).get("login"):
            raise ScenarioError(f"a correct login failed: {str(check)[:300]}")
        bench.warm_up(session, "me_id")
        normal = bench.load("me_id")
        streams: list[WrkResult] = []

        def with_logins() -> WrkResult:
            stream = bench.wrk.start(server, logins)
            try:
                time.sleep(0.5)  # let the hashing slots fill before measuring
                return bench.measure(session, normal)
            finally:
                streams.append(bench.wrk.finish(stream, logins))

        a, b = interleave(bench.plan.rounds, lambda: bench.measure(session, normal), with_logins)
        final = answer(server, logins.documents[-1])
    figures = load_figures("me {id} under logins", "alone", "with logins", a, b)
    p99 = figures[2]
    median = Spread.of(p99.ratios).median
    p99.target = Target(f"p99 B/A ≤ {LOGIN_P99_TARGET:g}", median <= LOGIN_P99_TARGET)
    failed = sum(stream.graphql_errors + stream.non_2xx + stream.errors for stream in streams)
    p99.notes.append(
        f"login stream: {logins.connections} connections, correct credentials of "
        f"{len(emails)} users, a new client address per login; logins/s per round "
        f"{[round(stream.requests_per_second, 1) for stream in streams]}, "
        f"{sum(stream.requests for stream in streams)} logins, {failed} failed; "
        f"login p50/p99 ms per round {[(round(s.p50_ms), round(s.p99_ms)) for s in streams]}"
    )
    if failed or (final.get("errors") or not (final.get("data") or {}).get("login")):
        p99.notes.append(f"LOGINS FAILED during or after the run: {str(final)[:200]}")
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
    emails, password = _login_users(bench)
    figures: list[Figure] = []
    for storage, settings_for in _storages(bench):
        run = secrets.token_hex(4)
        prefixes = {enabled: f"bench-{run}-{enabled}" for enabled in ("false", "true")}
        try:
            figures.extend(
                _limiter_pair(bench, storage, settings_for, prefixes, emails[2:4], password)
            )
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
            _check_session(session, bench.documents["me"], name)
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
        "both documents decrypt every requester's email and phone (the users loader, "
        "accounts/services/users.users_by_ids, always opens contact data); B - A is the "
        f"email field itself: field policy, masking (the agent sees e.g. {sample!r}), "
        "serialisation"
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
    return [*figures, loading]
