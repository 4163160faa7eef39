"""CPU instructions per request, product vs comparator, counted by callgrind.

``python -m bench.instructions [--db sqlite|postgresql] [--query me|tickets] [--requests N]``
``python -m bench.instructions --compare persisted [--db …] [--requests N]``

On a shared VM wall-clock ratios move by ±10 % between identical runs; instruction
counts do not, so code changes of a few percent are told apart here and confirmed by the
suite's wall-clock figures. Both apps serve a freshly seeded database in this process
(as the suite's servers do: the product with the bench principal injected, limits in
process memory), driven through raw ASGI with no network, no server and no load
generator. Each app runs twice under ``valgrind --tool=callgrind``: ``N`` requests and
0 requests after the same warm-up; the difference over ``N`` is the cost of one
request. Needs valgrind (``apt-get install valgrind``); takes a few minutes.

``--compare persisted`` counts the product alone, serving the allowlisted tickets page
(bench/documents.TICKETS_PERSISTED) sent as text and by id: issue 10's "a persisted
operation at least as fast as the same query sent as text with warm caches", told
apart from the wall-clock noise that decides ``persisted_operation``'s median.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from api.edge import CSRF_HEADER
from bench.documents import ME, TICKETS, TICKETS_PERSISTED, Document
from bench.product_server import REPOSITORY
from bench.servers import fresh_database, migrate_and_seed, server_environment

ASGIApp = Callable[..., Awaitable[None]]
WARM_UP_REQUESTS = 50
QUERIES = {"me": ME, "tickets": TICKETS}
# The request bodies a child can send: the queries as text, and the allowlisted page as
# text and by id (the seed lists it for the bench principal's audience, bench/seed.py).
BODIES = {
    **{name: Document.of(name, query).body for name, query in QUERIES.items()},
    "persisted_as_text": Document.of("persisted_as_text", TICKETS_PERSISTED).body,
    "persisted_by_id": Document.by_id("persisted_by_id", TICKETS_PERSISTED).body,
}
# What each comparison counts, side A then side B: (label, app, body).
Side = tuple[str, str, str]
COMPARISONS = ("comparator", "persisted")


def comparison_sides(compare: str, query: str) -> tuple[Side, Side]:
    if compare == "persisted":
        return ("as_text", "product", "persisted_as_text"), ("by_id", "product", "persisted_by_id")
    return ("product", "product", query), ("comparator", "comparator", query)


POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
# Work paced by the clock, not by requests (the block-list poll every 0.5 s, the
# allowlist refresh, the privacy runner): under valgrind the code runs about 50 times
# slower against the same clock, so that work would be counted as per-request cost, and
# more of it the busier the machine. Spaced out here; its real cost per second is small
# (the block-list poll: about 0.9 ms of CPU each time).
CLOCK_PACED_WORK_OFF = {
    "OPENDESK_IP_BLOCKS_REFRESH_SECONDS": "10",
    "OPENDESK_PERSISTED_REFRESH_SECONDS": "3600",
    "OPENDESK_PRIVACY_RUNNER_INTERVAL_SECONDS": "3600",
}


async def _request(
    app: ASGIApp, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """One HTTP request through the app's ASGI interface; returns status, headers, body."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    sent = False
    answer: dict[str, Any] = {"status": 0, "headers": [], "body": b""}

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.Event().wait()  # nothing more: as a client waiting for the answer
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
            answer["headers"] = list(message.get("headers", ()))
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")

    await app(scope, receive, send)
    return answer["status"], answer["headers"], answer["body"]


async def _drive(app: ASGIApp, body_name: str, requests: int) -> None:
    """Start the app, warm it up, serve ``requests`` requests of ``body_name``, stop it."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    lifespan = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, inbox.get, outbox.put)
    )
    await inbox.put({"type": "lifespan.startup"})
    started = await outbox.get()
    if started["type"] != "lifespan.startup.complete":
        raise RuntimeError(f"app did not start: {started}")
    headers = [(b"content-type", b"application/json")]
    _, csrf_headers, _ = await _request(app, "GET", "/csrf", [], b"")
    for name, value in csrf_headers:
        if name.lower() == b"set-cookie":
            cookie = value.split(b";", 1)[0]
            token = cookie.split(b"=", 1)[1]
            headers += [(b"cookie", cookie), (CSRF_HEADER.encode(), token)]
    body = BODIES[body_name]
    for _ in range(WARM_UP_REQUESTS):
        status, _, answer = await _request(app, "POST", "/graphql", headers, body)
        if status != 200 or b'"errors"' in answer or b'"data":null' in answer:
            raise RuntimeError(f"`{body_name}` failed: {status} {answer[:300]!r}")
    for _ in range(requests):
        await _request(app, "POST", "/graphql", headers, body)
    await inbox.put({"type": "lifespan.shutdown"})
    await outbox.get()
    await lifespan


def _child(app_name: str, body_name: str, requests: int) -> None:
    """Runs under callgrind: build the app as the suite's server would, then drive it."""
    if app_name == "product":
        from bench.product_server import install_principal_injection

        install_principal_injection()
        # The server's own entry point: its start-up ends with the heap frozen (api.asgi).
        from api.asgi import create_app_from_environment

        app: Any = create_app_from_environment()
    else:
        from bench.comparator import create_comparator_app

        app = create_comparator_app()
    asyncio.run(_drive(app, body_name, requests))


def _instructions(environment: dict[str, str], app_name: str, body_name: str, requests: int) -> int:
    with tempfile.TemporaryDirectory() as scratch:
        output = Path(scratch) / "callgrind.out"
        subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={output}",
                sys.executable,
                "-m",
                "bench.instructions",
                "--child",
                app_name,
                "--body",
                body_name,
                "--requests",
                str(requests),
            ],
            env={**environment, "PYTHONHASHSEED": "0"},
            check=True,
            capture_output=True,
        )
        totals = re.search(rb"^(?:summary|totals): (\d+)", output.read_bytes(), re.MULTILINE)
        if totals is None:
            raise RuntimeError("no instruction total in the callgrind output")
        return int(totals.group(1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.instructions")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--query", choices=sorted(QUERIES), default="me")
    parser.add_argument("--compare", choices=COMPARISONS, default="comparator")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--child", choices=["product", "comparator"], help=argparse.SUPPRESS)
    parser.add_argument("--body", choices=sorted(BODIES), help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.child:
        _child(arguments.child, arguments.body, arguments.requests)
        return 0
    sides = comparison_sides(arguments.compare, arguments.query)
    if shutil.which("valgrind") is None:
        sys.stderr.write("bench.instructions needs valgrind (apt-get install valgrind)\n")
        return 2
    with (
        tempfile.TemporaryDirectory(prefix="opendesk-instructions-") as scratch,
        fresh_database(arguments.db, Path(scratch), POSTGRES_URL) as database,
    ):
        workdir = Path(scratch)
        summary = migrate_and_seed(server_environment(database, workdir, None))
        environment = server_environment(database, workdir, json.dumps(summary["agent"]))
        environment["PYTHONPATH"] = str(REPOSITORY)
        environment.update(CLOCK_PACED_WORK_OFF)
        per_request: dict[str, float] = {}
        for label, app_name, body_name in sides:
            counted = _instructions(environment, app_name, body_name, arguments.requests)
            baseline = _instructions(environment, app_name, body_name, 0)
            per_request[label] = (counted - baseline) / arguments.requests
    (a, _, a_body), (b, _, b_body) = sides
    report = {
        "db": arguments.db,
        "compare": arguments.compare,
        "bodies": [a_body, b_body],
        "requests": arguments.requests,
        "instructions_per_request": {name: round(value) for name, value in per_request.items()},
        f"ratio_{b}_over_{a}": round(per_request[b] / per_request[a], 3),
    }
    sys.stdout.write(json.dumps(report) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
