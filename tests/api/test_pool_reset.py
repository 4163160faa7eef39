"""A pooled connection goes back without asyncpg's session reset (api/pool_reset.py),
which is safe only while the service keeps no session state: held here."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine

from api.database import bind_engine
from api.resources import Resources
from api.settings import Settings
from tests.conftest import BACKENDS

REPOSITORY = Path(__file__).resolve().parents[2]
SERVICE_PACKAGES = (
    "accounts",
    "api",
    "audit",
    "core",
    "desk",
    "operations",
    "permissions",
    "privacy",
    "schema",
)

# A statement whose effect outlives its transaction, at the start of a statement (after
# the start of a string or a semicolon), or a call that takes a session-level lock or
# sets a setting for the session. SET LOCAL, SET TRANSACTION, pg_advisory_xact_lock and
# set_config(…, true) end with their transaction and are not matched. Not seen: a SET
# inside a PL/pgSQL block (the service runs none through its pool).
_STATEMENT_START = r"(?:^|;)\s*"
SESSION_STATE = re.compile(
    "|".join(
        [
            _STATEMENT_START
            + r"SET\s+(?!LOCAL\b|TRANSACTION\b)"
            + r"(?:SESSION\b|ROLE\b|TIME\s+ZONE\b|[a-z_][\w.]*\s*(?:=|TO\b))",
            _STATEMENT_START + r"LISTEN\s+\"?\w+\"?\s*(?:;|$)",
            _STATEMENT_START + r"PREPARE\s+\w+\s*(?:\(|AS\b)",
            _STATEMENT_START + r"CREATE\s+(?:(?:GLOBAL|LOCAL)\s+)?TEMP(?:ORARY)?\s+TABLE\b",
            r"\bWITH\s+HOLD\b",
            r"\bpg_(?:try_)?advisory_lock(?:_shared)?\s*\(",
            # Any set_config whose third argument is not literally true (a parameter
            # could be false).
            r"\bset_config\s*\((?![^;]*?,\s*true\s*\))",
        ]
    ),
    re.IGNORECASE,
)


def _string_constants(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """Every string literal of ``tree`` (f-strings' literal parts included), docstrings
    left out: prose may name what the code must not do."""
    docstrings = {
        id(body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and (body := node.body)
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
        ):
            yield node.lineno, node.value


def session_state_statements(source: str) -> list[tuple[int, str]]:
    """(line, literal) of each string in ``source`` that keeps session state."""
    return [
        (line, text)
        for line, text in _string_constants(ast.parse(source))
        if SESSION_STATE.search(text)
    ]


@pytest.mark.parametrize(
    "statement",
    [
        "SET search_path TO evil",
        "set statement_timeout = 0",
        "SELECT 1; SET ROLE admin",
        "SET SESSION AUTHORIZATION other",
        "SET TIME ZONE 'UTC'",
        "LISTEN audit_events",
        "PREPARE find_user (uuid) AS SELECT 1",
        "CREATE TEMP TABLE scratch (id int)",
        "DECLARE c CURSOR WITH HOLD FOR SELECT 1",
        "SELECT pg_advisory_lock(42)",
        "SELECT pg_try_advisory_lock_shared(1, 2)",
        "SELECT set_config('app.user', $1, false)",
        "SELECT set_config('app.user', $1, $2)",
    ],
)
def test_the_check_sees_session_state(statement: str) -> None:
    assert session_state_statements(f"QUERY = {statement!r}\n")


@pytest.mark.parametrize(
    "statement",
    [
        "SET LOCAL statement_timeout = 100",
        "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE",
        "SELECT pg_advisory_xact_lock(42)",
        "SELECT set_config('app.user', $1, true)",
        'UPDATE "ticket" SET "status" = $1 WHERE "id" = $2',
        "Set to the address the server listens on.",
        "listen on this port",
    ],
)
def test_the_check_passes_what_ends_with_its_transaction(statement: str) -> None:
    assert not session_state_statements(f"QUERY = {statement!r}\n")


def test_no_string_of_the_service_keeps_session_state() -> None:
    sources = [
        path
        for package in SERVICE_PACKAGES
        for path in sorted((REPOSITORY / package).rglob("*.py"))
    ]
    assert len(sources) > 100  # the packages were found
    found = [
        f"{path.relative_to(REPOSITORY)}:{line}: {text[:80]!r}"
        for path in sources
        for line, text in session_state_statements(path.read_text(encoding="utf-8"))
    ]
    assert not found, "session state would outlive the pool's release:\n" + "\n".join(found)


needs_postgres = pytest.mark.skipif(
    BACKENDS.postgres_server_url is None, reason="the pool exists only on PostgreSQL"
)


@needs_postgres
async def test_a_released_connection_sends_nothing_and_leaves_no_transaction(
    db: Engine,
    settings: Settings,  # type: ignore[type-arg]
) -> None:
    """The app's own pool (one connection, opened as the server opens it): released, the
    connection's last statement is the caller's, and a transaction left open is gone."""
    resources = Resources.from_settings(settings.model_copy(update={"database_pool_size": 1}))
    await resources.open()
    assert isinstance(resources.engine, PostgresEngine)
    pool = resources.engine.pool
    admin = await asyncpg.connect(BACKENDS.postgres_server_url, timeout=10)
    try:
        async with pool.acquire() as connection:
            backend = await connection.fetchval("SELECT pg_backend_pid() /* released */")
        last = await admin.fetchval("SELECT query FROM pg_stat_activity WHERE pid = $1", backend)
        assert last == "SELECT pg_backend_pid() /* released */"

        async with pool.acquire() as connection:
            await connection.execute("BEGIN")
            opened = await connection.fetchval("SELECT txid_current()")
            assert connection.is_in_transaction()
        async with pool.acquire() as connection:
            assert await connection.fetchval("SELECT pg_backend_pid()") == backend
            assert not connection.is_in_transaction()
            assert await connection.fetchval("SELECT txid_current_if_assigned()") is None
            status = await connection.fetchval("SELECT txid_status($1)", opened)
        assert status == "aborted"
    finally:
        await admin.close()
        await resources.close()
        bind_engine(db)
