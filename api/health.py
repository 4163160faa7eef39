"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Response, get
from litestar.datastructures import State
from piccolo.apps.migrations.tables import Migration

from api.resources import Resources

_PROBE_TIMEOUT_SECONDS = 2.0


@get("/healthz", sync_to_thread=False, cache=False)
def healthz() -> dict[str, str]:
    """The process is up and serving; says nothing about its dependencies."""
    return {"status": "ok"}


@get("/readyz", cache=False)
async def readyz(state: State) -> Response[dict[str, Any]]:
    """Database (and Redis when configured) reachable: 200, else 503 naming what failed."""
    resources: Resources = state.resources
    failing: list[str] = []
    try:
        await asyncio.wait_for(Migration.count(), timeout=_PROBE_TIMEOUT_SECONDS)
    except Exception:
        failing.append("database")
    if resources.redis is not None:
        try:
            await asyncio.wait_for(resources.redis.ping(), timeout=_PROBE_TIMEOUT_SECONDS)
        except Exception:
            failing.append("redis")
    if failing:
        return Response({"status": "unavailable", "failing": failing}, status_code=503)
    return Response({"status": "ready"}, status_code=200)
