"""Shared fixtures: one database per test run (SQLite or PostgreSQL), emptied per test."""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.backends import (
    TEST_DATABASE_URL_VARIABLE,
    TEST_REDIS_URL_VARIABLE,
    detect_backends,
    unreachable,
)

BACKENDS = detect_backends()
_TEMP_DIR = Path(tempfile.mkdtemp(prefix="opendesk-tests-"))

# Settings are read from the environment by the CLI and piccolo_conf; point them at this
# run's own database before anything imports them.
if BACKENDS.postgres_server_url:
    os.environ["OPENDESK_DATABASE_URL"] = BACKENDS.postgres_database_url()
else:
    os.environ["OPENDESK_DATABASE_URL"] = f"sqlite:///{_TEMP_DIR / 'opendesk.sqlite3'}"
if BACKENDS.redis_url:
    os.environ["OPENDESK_REDIS_URL"] = BACKENDS.redis_url
    os.environ["OPENDESK_REDIS_PREFIX"] = f"opendesk-test-{BACKENDS.run_id}"
else:
    os.environ.pop("OPENDESK_REDIS_URL", None)
os.environ["OPENDESK_VAR_DIR"] = str(_TEMP_DIR / "var")
os.environ.setdefault("OPENDESK_ENV", "development")
# Litestar's test clients send Host: testserver.local; the Host allowlist is always on.
os.environ["OPENDESK_ALLOWED_HOSTS"] = (
    '["127.0.0.1", "localhost", "testserver", "testserver.local"]'
)
# Test clients run the app on their own event loop; a pool bound to one loop cannot
# serve the other, so the suite's app opens a connection per query.
os.environ["OPENDESK_DATABASE_POOL_SIZE"] = "0"
# Cheap argon2 for the suite's many logins; the real parameters are measured in bench/.
os.environ["OPENDESK_ARGON2_TIME_COST"] = "1"
os.environ["OPENDESK_ARGON2_MEMORY_KIB"] = "1024"
os.environ["OPENDESK_ARGON2_PARALLELISM"] = "1"
# Data subject requests run when a test says so (run_once), not on a background timer.
os.environ["OPENDESK_PRIVACY_RUNNER_INTERVAL_SECONDS"] = "0"


def pytest_report_header() -> str:
    return f"opendesk backends: {BACKENDS.name}"


def pytest_sessionstart(session: pytest.Session) -> None:
    problems = []
    if BACKENDS.postgres_server_url:
        problem = unreachable(BACKENDS.postgres_server_url, 5432)
        if problem:
            problems.append(f"{TEST_DATABASE_URL_VARIABLE}: {problem}")
    if BACKENDS.redis_url:
        problem = unreachable(BACKENDS.redis_url, 6379)
        if problem:
            problems.append(f"{TEST_REDIS_URL_VARIABLE}: {problem}")
    if problems:
        pytest.exit("; ".join(problems), returncode=3)


@pytest.fixture(scope="session")
def settings():  # type: ignore[no-untyped-def]
    from api.settings import load_settings

    return load_settings()


@pytest.fixture(scope="session")
async def database(settings) -> AsyncIterator[object]:  # type: ignore[no-untyped-def]
    """Create this run's database, apply the migrations, drop it at the end."""
    from api.database import bind_engine, engine_from_url
    from api.keys import load_app_keyring
    from api.migrate import migrate
    from privacy.keys_in_use import install_keyring

    # Services encrypt personal columns with the process keyring (development keys here).
    install_keyring(load_app_keyring(settings))
    if BACKENDS.postgres_server_url:
        await _create_postgres_database()
    await migrate(settings)
    engine = engine_from_url(settings.database_url)
    bind_engine(engine)
    yield engine
    if BACKENDS.postgres_server_url:
        await _drop_postgres_database()


@pytest.fixture
async def db(database) -> AsyncIterator[object]:  # type: ignore[no-untyped-def]
    """A bound, empty database for one test."""
    from api.database import bind_engine

    bind_engine(database)
    await _empty_tables()
    yield database
    bind_engine(database)
    await _empty_tables()


async def _empty_tables() -> None:
    """Delete every row of every app table, children before parents."""
    from piccolo.apps.migrations.tables import Migration
    from piccolo.table import sort_table_classes

    from api.database import all_tables

    tables = [table for table in all_tables() if table is not Migration]
    # In one transaction: one connection for all the deletes (tests run without a pool,
    # so each statement outside a transaction would open a connection of its own).
    async with tables[0]._meta.db.transaction():
        for table in reversed(sort_table_classes(tables)):
            await table.delete(force=True)


async def _admin_connection():  # type: ignore[no-untyped-def]
    import asyncpg

    assert BACKENDS.postgres_server_url is not None
    return await asyncpg.connect(BACKENDS.postgres_server_url, timeout=10)


async def _create_postgres_database() -> None:
    connection = await _admin_connection()
    try:
        name = BACKENDS.postgres_database_url().rsplit("/", 1)[1]
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


async def _drop_postgres_database() -> None:
    from api.database import all_tables

    for table in all_tables():
        engine = table._meta.db
        close = getattr(engine, "close_connection_pool", None)
        if close is not None and getattr(engine, "pool", None) is not None:
            await close()
    connection = await _admin_connection()
    try:
        name = BACKENDS.postgres_database_url().rsplit("/", 1)[1]
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


@pytest.fixture(scope="session", autouse=True)
def _remove_temp_dir() -> Iterator[None]:
    yield
    import shutil

    shutil.rmtree(_TEMP_DIR, ignore_errors=True)
