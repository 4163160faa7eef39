"""How long and how hard the suite runs: one Plan for ``--quick``, one for the full suite.

Budgets (wall clock, including start-up and seeding; measured 2026-12-06): quick ≈ 6
minutes (a little more with PostgreSQL, which adds the Redis limiter pair), full ≈ 21,
of which 5 are the memory soak and 2 privacy_scale; persisted_operation's server
restarts add ≈ 1 minute (quick) to 1.5 (full).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Plan:
    name: str
    rounds: int  # A/B rounds per comparison (order alternates AB, BA, …)
    seconds: int  # one wrk run under normal load
    refusal_seconds: int  # one wrk run timing a refusal (one connection)
    warmup_seconds: int  # per server and document, before the rounds (not reported)
    soak_seconds: int
    soak_samples: int
    argon2_runs: int  # in-process hash + verify pairs per argon2 parameter set
    # Freshly started servers per side when timing a first call against later ones.
    restart_rounds: int
    connections: int = 16  # the reference load
    # The login stream: enough connections to keep every argon2 slot of the server busy.
    login_connections: int = 4


QUICK = Plan(
    name="quick",
    rounds=3,
    seconds=2,
    refusal_seconds=1,
    warmup_seconds=1,
    soak_seconds=16,
    soak_samples=4,
    argon2_runs=7,
    restart_rounds=5,
)
FULL = Plan(
    name="full",
    rounds=5,
    seconds=4,
    refusal_seconds=2,
    warmup_seconds=1,
    soak_seconds=300,
    soak_samples=10,
    argon2_runs=21,
    restart_rounds=7,
)
