"""The product, served by its own ``serve`` command, with a fixed principal injected.

Authentication needs credentials the load generator does not have, and anonymous
callers see no tickets. To measure the ticket query on real work, the benchmark starts
the product exactly as an operator would — ``python -m api.cli serve --host 127.0.0.1
--port P --workers N`` (same key check, server, options and ``create_app(settings)``) —
with ``bench/inject`` on ``PYTHONPATH``. Its ``sitecustomize`` calls
:func:`install_principal_injection` in every process of that server (workers included),
which wraps the ``authenticate`` that ``api.graphql.build_context`` calls: the product's
authentication runs unchanged on the request (the load generator has no credentials, so
it finds an anonymous caller), and its answer is replaced by the agent named in
``BENCH_PRINCIPAL``. Everything from there on (the per-principal rate limit, the
context, its loaders, …) is built by the product for that principal, as for a signed-in
request.

That wrapper exists only in the benchmark's server processes; the product has no such
switch and nothing outside ``bench/`` can turn it on. Every other layer (edge
middleware, CSRF, guards, caches, limiter, scoped services) is the product's own.
"""

from __future__ import annotations

import ipaddress
import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

from litestar import Request

from accounts.services.identity import Identity
from api.settings import Settings
from permissions.principal import Principal, user_principal
from permissions.roles import Role

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
PRINCIPAL_VARIABLE = "BENCH_PRINCIPAL"
INJECT_DIR = Path(__file__).resolve().parent / "inject"
REPOSITORY = INJECT_DIR.parent.parent


def principal_from_environment() -> Principal:
    """The principal in ``BENCH_PRINCIPAL``; a missing or bad value stops start-up."""
    raw = os.environ.get(PRINCIPAL_VARIABLE)
    if not raw:
        raise SystemExit(f"bench: {PRINCIPAL_VARIABLE} is not set")
    values = json.loads(raw)
    organisation = values.get("organisation_id")
    return user_principal(
        uuid.UUID(values["user_id"]),
        Role(values["role"]),
        uuid.UUID(organisation) if organisation else None,
    )


def install_principal_injection() -> None:
    """Make every request act as the bench principal (see the module docstring).

    Must run before the first request (``build_context`` looks ``authenticate`` up in its
    module when called); ``sitecustomize`` runs it at interpreter start-up.

    The principal is injected where authentication answers, not by rebuilding the
    context afterwards: a rebuilt context (``dataclasses.replace`` and a second set of
    loaders, ≈ 10 µs) is work the product never does, and it was counted as the product's.
    """
    import api.graphql

    principal = principal_from_environment()
    product_authenticate = api.graphql.authenticate

    async def authenticate_as_principal(
        request: Request[Any, Any, Any],
        settings: Settings,
        identity: Identity,
        client_ip: IPAddress,
    ) -> Principal:
        await product_authenticate(request, settings, identity, client_ip)
        return principal

    api.graphql.authenticate = authenticate_as_principal


STUB_POLICY_VARIABLE = "BENCH_STUB_FIELD_POLICY"


def stub_field_policy() -> None:
    """Build the schema without the field policy: no per-field resolver wrapper, no static
    gate.

    For measuring what enforcement costs, in the bench's own server process only; must
    run before ``create_app`` builds the schema (``sitecustomize`` runs it at start-up).
    """
    from collections.abc import Iterator

    from strawberry.extensions import SchemaExtension

    import schema.build

    class NoGate(SchemaExtension):
        def on_execute(self) -> Iterator[None]:
            yield

    def no_policy(*_roots: type) -> list[str]:
        return []

    def no_enforcement(_schema: Any) -> None:
        return None

    # The names schema.build imported; replacing them there is what the harness wants.
    setattr(schema.build, "install_field_policy", no_policy)  # noqa: B010
    setattr(schema.build, "enforce_field_policy", no_enforcement)  # noqa: B010
    setattr(schema.build, "FieldPolicyGate", NoGate)  # noqa: B010


STUB_GUARDS_VARIABLE = "BENCH_STUB_GUARDS"


def stub_guards() -> None:
    """Build the schema without the request guards (size, tokens, aliases, directives,
    depth, mutations, cost limit, introspection gate, error rewriting, time limit); the
    cost *budget* stays, it is the rate limiter's. For measuring what the guards cost,
    in the bench's own server process only (``sitecustomize``, before ``create_app``)."""
    from functools import partial

    import schema.build
    from schema.guards.budget import CostBudget
    from schema.guards.chain import GuardChain

    def budget_only(config: Any, *, before: Any = (), after: Any = ()) -> list[Any]:
        # The schema's other extensions that share the chain stay (schema.build).
        budget = partial(CostBudget, max_page_size=config.max_page_size)
        return [partial(GuardChain, parts=[*before, budget, *after])]

    setattr(schema.build, "build_guard_extensions", budget_only)  # noqa: B010


def serve_command(port: int, workers: int) -> list[str]:
    """The product's own serve command, bound to 127.0.0.1."""
    return [
        sys.executable, "-m", "api.cli", "serve",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
    ]  # fmt: skip


def serve_environment(environment: dict[str, str]) -> dict[str, str]:
    """``environment`` plus the injection directory (and the repository, for ``bench``)."""
    existing = environment.get("PYTHONPATH")
    path = os.pathsep.join([str(INJECT_DIR), str(REPOSITORY), *([existing] if existing else [])])
    return {**environment, "PYTHONPATH": path}
