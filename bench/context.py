"""What a scenario gets to work with: the running servers, the load generator, the plan.

A scenario asks for load with :meth:`Bench.load` and runs it with :meth:`Bench.measure`;
it never starts processes itself except through :meth:`Bench.extra_product`, which
stops what it started.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from bench.documents import Document
from bench.plan import Plan
from bench.servers import Server, post
from bench.wrk import Load, Wrk, WrkResult


@dataclass(frozen=True, slots=True)
class Placement:
    """taskset CPU lists (None: unpinned) for the load generator and the servers."""

    generator: str | None
    server: str | None
    all_cpus: str | None


class ProductStarter(Protocol):
    """Starts one more product server (``inject``: act as the bench agent; ``environment``:
    extra ``OPENDESK_*`` settings for this server only)."""

    def __call__(
        self,
        workers: int,
        cpus: str | None,
        *,
        environment: Mapping[str, str] | None = None,
        inject: bool = True,
        name: str | None = None,
    ) -> Server: ...


@dataclass(slots=True)
class Bench:
    plan: Plan
    wrk: Wrk
    placement: Placement
    product: Server
    comparator: Server
    documents: dict[str, Document]
    start_product: ProductStarter
    notes: list[str] = field(default_factory=list)
    # What bench.seed made (the agent, the login users and their password, row counts).
    seed: dict[str, Any] = field(default_factory=dict)
    database_kind: str = "sqlite"
    # The servers' environment (this run's database and var dir), for in-process timings.
    environment: dict[str, str] = field(default_factory=dict)
    # The PostgreSQL server the run's databases are made on (scenarios that need a fresh
    # database of their own, e.g. privacy_scale, make it there).
    postgres_url: str = ""

    def load(
        self,
        *names: str,
        connections: int | None = None,
        seconds: int | None = None,
        unique_every_fourth: bool = False,
    ) -> Load:
        return Load(
            documents=tuple(self.documents[name] for name in names),
            connections=connections or self.plan.connections,
            seconds=seconds or self.plan.seconds,
            unique_every_fourth=unique_every_fourth,
        )

    def measure(self, server: Server, load: Load) -> WrkResult:
        result = self.wrk.run(server, load)
        if result.errors or result.non_2xx:
            names = "+".join(document.name for document in load.documents)
            self.notes.append(
                f"{server.name} {names}: {result.errors} socket errors/timeouts, "
                f"{result.non_2xx} non-2xx answers out of {result.requests}"
            )
        return result

    def warm_up(self, server: Server, *names: str) -> None:
        """Fill the server's caches and pools; the figures of this run are discarded."""
        self.wrk.run(server, self.load(*names, seconds=self.plan.warmup_seconds))

    @contextlib.contextmanager
    def extra_product(
        self,
        workers: int,
        cpus: str | None,
        *,
        environment: Mapping[str, str] | None = None,
        inject: bool = True,
        name: str | None = None,
    ) -> Iterator[Server]:
        server = self.start_product(
            workers, cpus, environment=environment, inject=inject, name=name
        )
        try:
            yield server
        finally:
            server.stop()


def answer(server: Server, document: Document) -> dict[str, Any]:
    """One request's decoded JSON answer (for checking a scenario measures what it says)."""
    status, body = post(server.port, document.body, headers=server.headers)
    decoded: dict[str, Any] = json.loads(body)
    decoded["_status"] = status
    return decoded


def first_error_code(response: dict[str, Any]) -> str | None:
    errors = response.get("errors") or []
    if not errors:
        return None
    code = (errors[0].get("extensions") or {}).get("code")
    return str(code) if code else "no code"
