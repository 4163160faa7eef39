"""The ``opendesk`` command as an operator runs it: a real process, real exit codes."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from accounts.services.contact import user_id_for_email
from accounts.services.users import get_user
from accounts.tables import Organisation, User
from desk.tables import Ticket

CLI = [sys.executable, "-m", "api.cli"]


def run_cli(
    *arguments: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *arguments],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [("OPENDESK_PORT", "eighty"), ("OPENDESK_DATABASE_URL", "oracle://db")],
)
def test_bad_setting_stops_with_one_line_and_exit_2(variable: str, value: str) -> None:
    result = run_cli("migrate", env={variable: value})

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert variable in lines[0]
    assert "Traceback" not in result.stderr


def test_production_refuses_to_serve_on_development_defaults() -> None:
    result = run_cli("serve", env={"OPENDESK_ENV": "production"})

    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "OPENDESK_" in result.stderr


@pytest.mark.usefixtures("db")
def test_migrate_is_idempotent() -> None:
    first = run_cli("migrate")
    second = run_cli("migrate")

    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert "No migrations need to be run" in second.stdout


@pytest.mark.usefixtures("db")
async def test_seed_demo_writes_private_credentials_and_is_idempotent(settings) -> None:  # type: ignore[no-untyped-def]
    first = run_cli("seed", "--demo")
    second = run_cli("seed", "--demo")

    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    path = Path(first.stdout.strip().rsplit(" ", 1)[1])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    credentials = json.loads(path.read_text())
    assert set(credentials) == {"customer", "agent", "admin", "auditor"}
    assert await Organisation.count() == 1
    assert await User.count() == 4
    assert await Ticket.count() == 3
    agent_id = await user_id_for_email(credentials["agent"]["email"])
    stored = await User.select(User.password_hash).where(User.id == agent_id).first()
    assert stored["password_hash"].startswith("$argon2id$")
    assert credentials["agent"]["password"] not in stored["password_hash"]


@pytest.mark.usefixtures("db")
async def test_users_create_reads_the_password_from_stdin() -> None:
    password = "correct horse battery staple 42"

    result = run_cli(
        "users",
        "create",
        "--email",
        "Agent.Smith@Example.com",
        "--role",
        "agent",
        stdin=password + "\n",
    )

    assert result.returncode == 0, result.stderr
    row = await User.select(User.id, User.email, User.role, User.password_hash).first()
    record = await get_user(row["id"])
    assert record.email == "agent.smith@example.com"
    assert "agent.smith" not in row["email"]  # stored as ciphertext
    assert row["role"] == "agent"
    assert password not in result.stdout + result.stderr
    assert row["password_hash"].startswith("$argon2id$")


@pytest.mark.usefixtures("db")
async def test_users_create_refuses_a_weak_password_without_echoing_it() -> None:
    result = run_cli(
        "users", "create", "--email", "a@example.com", "--role", "agent", stdin="password\n"
    )

    assert result.returncode == 1
    assert "password" in result.stderr.lower()
    assert await User.count() == 0


@pytest.mark.usefixtures("db")
async def test_customer_without_organisation_is_refused() -> None:
    result = run_cli(
        "users",
        "create",
        "--email",
        "c@example.com",
        "--role",
        "customer",
        stdin="a long enough passphrase for one factor\n",
    )

    assert result.returncode == 1
    assert "organisation" in result.stderr.lower()
    assert await User.count() == 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.usefixtures("db")
def test_serve_answers_health_and_graphql() -> None:
    port = _free_port()
    server = subprocess.Popen(
        [*CLI, "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        with httpx.Client(base_url=base, timeout=5) as browser:
            token = browser.get("/csrf").json()["csrfToken"]
            graphql = browser.post(
                "/graphql", json={"query": "{ me { id } }"}, headers={"x-csrf-token": token}
            )
    finally:
        server.terminate()
        server.wait(timeout=15)

    assert health.json() == {"status": "ok"}
    assert "server" not in health.headers
    assert graphql.json()["data"] == {"me": None}
