"""The servers under test: a fresh database, then product and comparator subprocesses.

Everything listens on 127.0.0.1 only. Each server runs in its own process group so
that stopping it ends exactly the processes it started (uvicorn's workers included).
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import os
import secrets
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench.documents import ME

REPOSITORY = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
# The limiter stays on (its cost is part of the product), with limits no load generator
# reaches: one client IP sending thousands of requests a second is what wrk is.
GENEROUS_RATE_LIMITS = {
    "OPENDESK_RATE_LIMIT_IP": "1000000000/minute",
    "OPENDESK_RATE_LIMIT_USER": "1000000000/minute",
    "OPENDESK_RATE_LIMIT_API_KEY": "1000000000/minute",
    "OPENDESK_RATE_LIMIT_COST": "1000000000000/hour",
    # The login scenario signs in many times a second from one address on purpose.
    "OPENDESK_RATE_LIMIT_LOGIN": "1000000000/minute",
}


@dataclass(frozen=True, slots=True)
class Database:
    url: str
    kind: str


@contextlib.contextmanager
def fresh_database(kind: str, workdir: Path, postgres_url: str) -> Iterator[Database]:
    """An empty database for this run, removed afterwards (SQLite file or PostgreSQL DB)."""
    if kind == "sqlite":
        yield Database(url=f"sqlite:///{workdir / 'bench.sqlite3'}", kind=kind)
        return
    name = f"opendesk_bench_{secrets.token_hex(4)}"
    asyncio.run(_postgres_admin(postgres_url, f'CREATE DATABASE "{name}"'))
    try:
        yield Database(url=urlunsplit(urlsplit(postgres_url)._replace(path=f"/{name}")), kind=kind)
    finally:
        asyncio.run(_postgres_admin(postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _postgres_admin(server_url: str, statement: str) -> None:
    import asyncpg  # type: ignore[import-untyped,unused-ignore]

    connection = await asyncpg.connect(server_url, timeout=10)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def server_environment(database: Database, workdir: Path, principal: str | None) -> dict[str, str]:
    """The environment every bench subprocess gets: this run's database and var dir only."""
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("OPENDESK_")
    }
    environment.update(
        OPENDESK_ENV="development",
        OPENDESK_DATABASE_URL=database.url,
        OPENDESK_VAR_DIR=str(workdir / "var"),
        **GENEROUS_RATE_LIMITS,
    )
    if principal is not None:
        environment["BENCH_PRINCIPAL"] = principal
    return environment


def migrate_and_seed(environment: dict[str, str]) -> dict[str, object]:
    """Runs ``python -m bench.seed``; returns its summary (the agent and row counts)."""
    completed = subprocess.run(
        [sys.executable, "-m", "bench.seed"],
        cwd=REPOSITORY,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"seeding failed: {completed.stderr.strip()[-2000:]}")
    summary: dict[str, object] = json.loads(completed.stdout.strip().splitlines()[-1])
    return summary


@dataclass(slots=True)
class Server:
    """A running server subprocess (process group leader ``process``)."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    # Sent with every POST, by the checks and by wrk (e.g. the CSRF cookie and header).
    headers: dict[str, str] = field(default_factory=dict)
    # The server's output (the product's JSON access log included).
    log: Path | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/graphql"

    def worker_pids(self) -> list[int]:
        """The processes that serve requests: uvicorn's spawned workers, else the server."""
        children = [
            pid
            for pid in _children(self.process.pid)
            if b"spawn_main" in _read_proc(pid, "cmdline")
        ]
        return children or [self.process.pid]

    def worker_rss_mib(self) -> list[float]:
        return [rss_mib(pid) for pid in self.worker_pids()]

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)


def start_server(
    name: str,
    command: list[str],
    *,
    port: int,
    environment: dict[str, str],
    cpus: str | None,
    workers: int = 1,
    log: Path,
) -> Server:
    """Start ``command`` (serving on ``port``, pinned to ``cpus``); wait until it answers."""
    if cpus is not None:
        command = ["taskset", "-c", cpus, *command]
    # Also in the environment: each uvicorn worker builds its settings from it (the
    # allowed Host values include the serve port), not from the command line.
    environment = {**environment, "OPENDESK_PORT": str(port)}
    with log.open("ab") as log_file:
        process = subprocess.Popen(
            command,
            cwd=REPOSITORY,
            env=environment,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(name=name, port=port, process=process, log=log)
    try:
        _wait_until_answering(server, workers=workers, log=log)
        server.headers = csrf_headers(port)
    except BaseException:
        server.stop()
        raise
    return server


def csrf_headers(port: int) -> dict[str, str]:
    """What a browser frontend sends with every POST: the CSRF cookie and the same token in
    ``X-CSRF-Token`` (from ``GET /csrf``). Empty when the server has no such endpoint."""
    connection = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        connection.request("GET", "/csrf")
        response = connection.getresponse()
        body = response.read()
        cookies = response.headers.get_all("set-cookie") or []
    finally:
        connection.close()
    if response.status != 200:
        return {}
    token = json.loads(body)["csrfToken"]
    # As a browser keeps cookies: the last Set-Cookie of a name wins. A same-origin
    # frontend echoes the cookie's value, which is what this sends in the header.
    jar: dict[str, str] = {}
    for cookie in cookies:
        name, _, value = cookie.split(";", 1)[0].partition("=")
        jar[name.strip()] = value.strip()
    token = next((value for name, value in jar.items() if name.endswith("_csrf")), token)
    cookie_header = "; ".join(f"{name}={value}" for name, value in jar.items())
    return {"Cookie": cookie_header, "X-CSRF-Token": token}


def _wait_until_answering(server: Server, *, workers: int, log: Path) -> None:
    deadline = time.monotonic() + 60
    body = json.dumps({"query": ME}).encode()
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited at start-up; see {log}")
        try:
            # Any HTTP answer means the app is up (a CSRF refusal included).
            post(server.port, body, timeout=2)
            if len(server.worker_pids()) >= workers:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{server.name} did not answer within 60 s; see {log}")


def post(
    port: int, body: bytes, *, headers: dict[str, str] | None = None, timeout: float = 30
) -> tuple[int, bytes]:
    """One POST /graphql on a new connection: (status, response body).

    Like curl or a browser, it stops sending once the server answers: the product
    answers an oversized body (413) before reading it and closes the connection, and a
    client still writing then gets a reset instead of the answer.
    """
    head = "".join(
        f"{name}: {value}\r\n"
        for name, value in {
            "Host": f"{HOST}:{port}",
            "Content-Type": "application/json",
            "Content-Length": str(len(body)),
            **(headers or {}),
        }.items()
    )
    with socket.create_connection((HOST, port), timeout=timeout) as connection:
        connection.sendall(f"POST /graphql HTTP/1.1\r\n{head}\r\n".encode("latin-1"))
        sent = 0
        while sent < len(body) and not select.select([connection], [], [], 0)[0]:
            sent += connection.send(body[sent : sent + 65_536])
        response = http.client.HTTPResponse(connection)
        response.begin()
        return response.status, response.read()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def rss_mib(pid: int) -> float:
    """Resident set size of ``pid`` in MiB (from /proc; 0 when the process is gone)."""
    for line in _read_proc(pid, "status").decode().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _read_proc(pid: int, name: str) -> bytes:
    try:
        return Path(f"/proc/{pid}/{name}").read_bytes()
    except OSError:
        return b""


def _children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _read_proc(int(entry.name), "stat").decode(errors="replace")
            # The parent pid is the 2nd field after the parenthesised command name.
            fields = stat.rpartition(")")[2].split()
            if len(fields) > 1 and fields[1] == str(parent):
                found.append(int(entry.name))
    return found
