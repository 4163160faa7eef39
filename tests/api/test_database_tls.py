"""TLS to PostgreSQL: ``sslmode`` in OPENDESK_DATABASE_URL reaches the driver, and
``verify-full`` never falls back to plain text."""

from __future__ import annotations

import socketserver
import ssl
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from piccolo.engine.postgres import PostgresEngine

from api.database import engine_from_url
from api.dev_cert import write_dev_cert

# Piccolo asks the (fake) server's version as it builds an engine, and warns when it cannot.
pytestmark = pytest.mark.filterwarnings("ignore:.*Unable to fetch server version")

# The first message of a client that wants TLS (PostgreSQL protocol: length 8, code
# 80877103); a server without TLS answers "N".
SSL_REQUEST = struct.pack("!ii", 8, 80877103)


class _NoTlsHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.server.first_messages.append(self.request.recv(8))  # type: ignore[attr-defined]
        self.request.sendall(b"N")


@pytest.fixture
def server_without_tls() -> Iterator[tuple[int, list[bytes]]]:
    """A server that declines TLS, on a thread of its own (the engine checks the
    server version as it is built, blocking the test's event loop meanwhile)."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _NoTlsHandler)
    server.first_messages = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], server.first_messages  # type: ignore[attr-defined]
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("mode", ["verify-full", "verify-ca", "require"])
async def test_required_tls_refuses_a_server_without_it(
    mode: str, tmp_path: Path, server_without_tls: tuple[int, list[bytes]]
) -> None:
    root_certificate, _key = write_dev_cert(tmp_path)
    port, first_messages = server_without_tls
    engine = engine_from_url(
        f"postgresql://app@127.0.0.1:{port}/opendesk?sslmode={mode}&sslrootcert={root_certificate}"
    )
    assert isinstance(engine, PostgresEngine)
    with pytest.raises(ConnectionError, match="rejected SSL upgrade"):
        await engine.get_new_connection()

    assert first_messages
    assert set(first_messages) == {SSL_REQUEST}  # TLS asked for first, every time


def test_verify_full_checks_the_certificate_and_the_host_name(tmp_path: Path) -> None:
    from asyncpg import connect_utils

    root_certificate, _key = write_dev_cert(tmp_path)
    engine = engine_from_url(
        f"postgresql://app@db.example:5432/opendesk?sslmode=verify-full&sslrootcert={root_certificate}"
    )
    assert isinstance(engine, PostgresEngine)
    # The driver's own reading of the URL the engine hands it.
    _addresses, parameters = connect_utils._parse_connect_dsn_and_args(
        dsn=engine.config["dsn"],
        host=None,
        port=None,
        user=None,
        password=None,
        passfile=None,
        database=None,
        ssl=None,
        direct_tls=None,
        server_settings=None,
        target_session_attrs=None,
        krbsrvname=None,
        gsslib=None,
        service=None,
        servicefile=None,
    )
    context = parameters.ssl

    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname is True
    assert parameters.sslmode == connect_utils.SSLMode.verify_full
