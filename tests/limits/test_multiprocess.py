"""The per-IP limit holds across server processes sharing one Redis.

With OPENDESK_TEST_REDIS_URL: three ``python -m api.cli serve`` processes on 127.0.0.1,
one client spreading requests round-robin over them. On the memory backend the same
assertion runs against one in-process app (limits are per process there by design).
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from api.limits import block_ip
from api.settings import Settings
from tests.conftest import BACKENDS

pytestmark = pytest.mark.usefixtures("db")

LIMIT = 30
REQUESTS = 90
PROCESSES = 3


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, "server exited during start-up"
        try:
            # A TCP connect, not a request: readiness probes must not spend the limit.
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"server on port {port} did not start")


@pytest.fixture
def servers() -> Iterator[list[int]]:
    env = {
        **os.environ,
        "OPENDESK_RATE_LIMIT_IP": f"{LIMIT}/minute",
        # Fresh keys: counts from other tests (same client IP) cannot leak in.
        "OPENDESK_REDIS_PREFIX": f"opendesk-test-mp-{secrets.token_hex(4)}",
        "OPENDESK_IP_BLOCKS_REFRESH_SECONDS": "0.5",
    }
    ports = [_free_port() for _ in range(PROCESSES)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--port", str(port)],
            env=env,
            cwd=Path(__file__).resolve().parents[2],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    try:
        for port, process in zip(ports, processes, strict=True):
            _wait_listening(port, process)
        yield ports
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=15)


async def test_the_ip_limit_holds_across_processes(
    request: pytest.FixtureRequest, settings: Settings
) -> None:
    if BACKENDS.redis_url is None:
        await _one_process_accepts_exactly_the_ip_limit(settings)
        return
    await _three_processes_share_one_ip_limit_and_one_block_list(request.getfixturevalue("servers"))


async def _three_processes_share_one_ip_limit_and_one_block_list(servers: list[int]) -> None:
    clients = [
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) for port in servers
    ]
    try:
        statuses = [
            (await clients[i % PROCESSES].get("/healthz")).status_code for i in range(REQUESTS)
        ]
        accepted = statuses.count(200)
        assert set(statuses) <= {200, 429}
        assert abs(accepted - LIMIT) <= PROCESSES  # ±1 request per process

        # A block written anywhere reaches every process within about a second.
        await block_ip("127.0.0.1", "multi-process test", None, "system:test")
        deadline = time.monotonic() + 10
        blocked: set[int] = set()
        while len(blocked) < PROCESSES and time.monotonic() < deadline:
            for index, client in enumerate(clients):
                if (await client.get("/healthz")).status_code == 403:
                    blocked.add(index)
        assert blocked == set(range(PROCESSES))
    finally:
        for client in clients:
            await client.aclose()


async def _one_process_accepts_exactly_the_ip_limit(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"rate_limit_ip": f"{LIMIT}/minute"}))
    transport = httpx.ASGITransport(app=app, client=("198.51.100.77", 5000))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        statuses = [(await client.get("/healthz")).status_code for _ in range(REQUESTS)]

    assert statuses.count(200) == LIMIT
    assert statuses[LIMIT:] == [429] * (REQUESTS - LIMIT)
