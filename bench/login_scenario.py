"""login_p99: a cheap query's latency while correct logins arrive (argon2id at the
product's defaults), on product servers started without the bench principal injection.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from bench.context import Bench, answer
from bench.documents import login_documents
from bench.scenario_support import ScenarioError, load_figures
from bench.sessions import check_session, login_users, sign_in
from bench.stats import Figure, Spread, Target, interleave
from bench.wrk import Load, WrkResult

LOGIN_P99_TARGET = 1.5
# The login server trusts the loopback as its reverse proxy, so each login can come
# from its own client address (wrk sets X-Forwarded-For): the product's login lockout
# counts every attempt per address (100 per 15 minutes), successful ones included.
LOGIN_SERVER_SETTINGS = {"OPENDESK_TRUSTED_PROXIES": '["127.0.0.1/32"]'}


@dataclass(frozen=True, slots=True)
class LoginStream:
    """One login_p99 comparison: the login stream's shape and the server's settings."""

    name: str
    connections: int | None = None  # None: the plan's login_connections
    delay_ms: int = 0  # pause per connection between logins (0: back to back)
    settings: dict[str, str] = field(default_factory=dict)


LOGIN_STREAMS = (
    # The case, as configured by default: as many logins as the server can take.
    LoginStream("saturating"),
    # Same, with one hash at a time: does the concurrency bound decide the latency?
    LoginStream("saturating, argon2 slots=1", settings={"OPENDESK_ARGON2_MAX_CONCURRENCY": "1"}),
    # A steady trickle: one connection pausing 700 ms between logins (≈ 0.7 login/s
    # on the reference VM, where a login then takes about 0.5 s).
    LoginStream("paced, 1 conn + 700 ms pause", connections=1, delay_ms=700),
)


def login_p99(bench: Bench) -> list[Figure]:
    """`{ me { id } }` (real session) alone vs while a second wrk sends correct logins."""
    emails, password = login_users(bench)
    figures: list[Figure] = []
    for stream in LOGIN_STREAMS:
        figures.extend(_login_pair(bench, stream, emails, password))
    return figures


def _login_pair(
    bench: Bench, stream: LoginStream, emails: list[str], password: str
) -> list[Figure]:
    logins = Load(
        documents=login_documents(emails, password),
        connections=stream.connections or bench.plan.login_connections,
        seconds=bench.plan.seconds + 1,
        forwarded_for=True,
        count_graphql_errors=True,
        delay_ms=stream.delay_ms,
    )
    with bench.extra_product(
        1,
        bench.placement.server,
        environment={**LOGIN_SERVER_SETTINGS, **stream.settings},
        inject=False,
        name="product-login",
    ) as server:
        session = sign_in(server, emails[0], password)
        check_session(session, bench.documents["me_id"])
        check = answer(server, logins.documents[1])
        if check.get("errors") or not (check.get("data") or {}).get("login"):
            raise ScenarioError(f"a correct login failed: {str(check)[:300]}")
        bench.warm_up(session, "me_id")
        normal = bench.load("me_id")
        streams: list[WrkResult] = []

        def with_logins() -> WrkResult:
            process = bench.wrk.start(server, logins)
            try:
                time.sleep(0.5)  # let the hashing slots fill before measuring
                return bench.measure(session, normal)
            finally:
                streams.append(bench.wrk.finish(process, logins))

        a, b = interleave(bench.plan.rounds, lambda: bench.measure(session, normal), with_logins)
        final = answer(server, logins.documents[-1])
    figures = load_figures(f"me {{id}} under logins, {stream.name}", "alone", "with logins", a, b)
    p99 = figures[2]
    median = Spread.of(p99.ratios).median
    p99.target = Target(f"p99 B/A ≤ {LOGIN_P99_TARGET:g}", median <= LOGIN_P99_TARGET)
    if stream.settings:  # the target is for the product's default settings
        p99.target = None
    failed = sum(s.graphql_errors + s.non_2xx + s.errors for s in streams)
    p99.notes.append(
        f"login stream: {logins.connections} connections, {logins.delay_ms} ms pause, correct "
        f"credentials of {len(emails)} users, a new client address per login; logins/s per "
        f"round {[round(s.requests_per_second, 1) for s in streams]}, "
        f"{sum(s.requests for s in streams)} logins, {failed} failed; "
        f"login p50/p99 ms per round {[(round(s.p50_ms), round(s.p99_ms)) for s in streams]}"
    )
    if failed or (final.get("errors") or not (final.get("data") or {}).get("login")):
        p99.notes.append(f"LOGINS FAILED during or after the run: {str(final)[:200]}")
    return figures
