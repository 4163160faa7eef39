"""Which real services this test run uses, decided once from the environment.

Nothing configured: SQLite in a temporary directory and in-process stores. With
OPENDESK_TEST_DATABASE_URL / OPENDESK_TEST_REDIS_URL set, PostgreSQL and Redis; if they
are asked for and unreachable, the run fails (it never silently falls back).
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

TEST_DATABASE_URL_VARIABLE = "OPENDESK_TEST_DATABASE_URL"
TEST_REDIS_URL_VARIABLE = "OPENDESK_TEST_REDIS_URL"


@dataclass(frozen=True)
class TestBackends:
    __test__ = False  # not a test class, despite the name

    postgres_server_url: str | None
    redis_url: str | None
    run_id: str

    @property
    def name(self) -> str:
        database = "postgresql" if self.postgres_server_url else "sqlite"
        store = "redis" if self.redis_url else "memory"
        return f"{database}+{store}"

    def postgres_database_url(self) -> str:
        assert self.postgres_server_url is not None
        parts = urlsplit(self.postgres_server_url)
        return urlunsplit(parts._replace(path=f"/opendesk_test_{self.run_id}"))


def detect_backends() -> TestBackends:
    return TestBackends(
        postgres_server_url=os.environ.get(TEST_DATABASE_URL_VARIABLE) or None,
        redis_url=os.environ.get(TEST_REDIS_URL_VARIABLE) or None,
        run_id=secrets.token_hex(4),
    )


def unreachable(url: str, default_port: int) -> str | None:
    """A reason when nothing listens at ``url``'s host and port, else None."""
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or default_port
    try:
        with socket.create_connection((host, port), timeout=3):
            return None
    except OSError as error:
        return f"{url.split('@')[-1]} unreachable: {error}"
