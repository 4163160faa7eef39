"""A real ``opendesk serve`` on 127.0.0.1: slow clients are cut off, oversized heads are
refused, and ``dev-cert`` + ``--certfile/--keyfile`` serve HTTPS."""

from __future__ import annotations

import json
import os
import select
import socket
import ssl
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import httpx
import pytest

from api.edge.csrf import csrf_cookie_name

CLI = [sys.executable, "-m", "api.cli"]
READ_TIMEOUT_SECONDS = 2
MAX_SLOW_BYTES = 30  # at one byte a second: the server must cut us off well before
ATTACHMENT_MAX_BYTES = 200_000  # the upload route's body limit: this + 64 KiB


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(port: int, *extra: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CLI, "serve", "--port", str(port), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _wait_until_up(server: subprocess.Popen[str], port: int) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)


def _read_response(connection: socket.socket) -> bytes:
    """One whole response with a Content-Length body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(4096)
        assert chunk, f"closed before a whole answer: {data[:300]!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = connection.recv(4096)
        assert chunk, f"closed mid-body: {head[:300]!r}"
        body += chunk
    return head + b"\r\n\r\n" + body


def _closed_by_server(connection: socket.socket) -> bool:
    """True when the server has closed ``connection``, after an answer already read: an
    end of stream, or a reset when the server closed with bytes of the request still
    unread (TCP then resets instead of ending the stream; which one the client sees
    depends on whether the server had read everything by then)."""
    try:
        return connection.recv(4096) == b""
    except ConnectionResetError:
        return True


@pytest.fixture(scope="module")
def server_port() -> Iterator[int]:
    port = _free_port()
    env = {
        **os.environ,
        "OPENDESK_REQUEST_READ_TIMEOUT_SECONDS": str(READ_TIMEOUT_SECONDS),
        "OPENDESK_ATTACHMENT_MAX_BYTES": str(ATTACHMENT_MAX_BYTES),
    }
    server = _start(port, env=env)
    try:
        _wait_until_up(server, port)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=15)


@pytest.mark.usefixtures("db")
def test_a_client_sending_a_byte_a_second_is_cut_off(server_port: int) -> None:
    request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"a" * 64
    sent = 0
    with socket.create_connection(("127.0.0.1", server_port), timeout=5) as connection:
        # One byte a second until the server speaks (or we would have sent 30 bytes).
        while sent < MAX_SLOW_BYTES and not select.select([connection], [], [], 1)[0]:
            connection.sendall(request[sent : sent + 1])
            sent += 1
        answer = connection.recv(4096) if sent < MAX_SLOW_BYTES else b""

    assert sent < MAX_SLOW_BYTES  # cut off while the head was still trickling in
    assert answer.startswith(b"HTTP/1.1 408"), answer


@pytest.mark.usefixtures("db")
@pytest.mark.parametrize("after_an_answer", [False, True], ids=["first", "after an answer"])
def test_a_client_that_never_finishes_its_body_is_cut_off(
    server_port: int, after_an_answer: bool
) -> None:
    """Also on a connection that has served a request: the server holds a POST to
    /graphql until its body is complete (api.edge.document_refusal), and the 408 is this
    request's own answer, not left out as if the earlier one were still in progress."""
    token = httpx.get(f"http://127.0.0.1:{server_port}/csrf", timeout=5).json()["csrfToken"]
    head = (
        "POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Cookie: opendesk_csrf={token}\r\nX-CSRF-Token: {token}\r\n"
        "Content-Length: 1000\r\n\r\n{"
    ).encode()
    with socket.create_connection(("127.0.0.1", server_port), timeout=10) as connection:
        if after_an_answer:
            connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert _read_response(connection).startswith(b"HTTP/1.1 200")
        connection.sendall(head)  # then nothing: the body never comes
        answer = connection.recv(4096)  # blocks until the server answers or closes
        rest = connection.recv(4096)

    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert rest == b""  # and the connection is closed


@pytest.mark.usefixtures("db")
def test_oversized_or_overfull_request_heads_are_refused_cleanly(server_port: int) -> None:
    base = f"http://127.0.0.1:{server_port}/healthz"
    big = httpx.get(base, headers={"x-big": "a" * 20_000}, timeout=5)
    many = httpx.get(base, headers=[(f"x-h{i}", "1") for i in range(150)], timeout=5)
    fine = httpx.get(base, headers={"x-small": "a" * 1000}, timeout=5)

    assert big.status_code == 431
    assert many.status_code == 431
    assert fine.status_code == 200


@pytest.mark.usefixtures("db")
def test_a_head_that_never_ends_is_refused_once_past_the_bound(server_port: int) -> None:
    with socket.create_connection(("127.0.0.1", server_port), timeout=5) as connection:
        lines = b"".join(f"X-Pad-{i}: ".encode() + b"a" * 1000 + b"\r\n" for i in range(20))
        # 20 KiB of header lines, never the blank line; then we wait (sending more after
        # the server closed would only earn a reset).
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + lines)
        answer = connection.recv(4096)
        rest = connection.recv(4096)

    assert answer.startswith(b"HTTP/1.1 431"), answer
    assert b"REQUEST_HEADER_FIELDS_TOO_LARGE" in answer
    assert rest == b""


@pytest.mark.usefixtures("db")
def test_keep_alive_requests_each_get_their_own_read_deadline(server_port: int) -> None:
    request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server_port), timeout=10) as connection:
        connection.sendall(request)
        first = _read_response(connection)
        time.sleep(READ_TIMEOUT_SECONDS + 0.5)  # idle between requests: not a slow request
        connection.sendall(request)
        second = _read_response(connection)

    assert first.startswith(b"HTTP/1.1 200"), first
    assert second.startswith(b"HTTP/1.1 200"), second


@pytest.mark.usefixtures("db")
def test_dev_cert_then_serve_over_https(tmp_path: Path) -> None:
    env = {**os.environ, "OPENDESK_VAR_DIR": str(tmp_path)}
    made = subprocess.run([*CLI, "dev-cert"], capture_output=True, text=True, env=env, check=False)
    again = subprocess.run([*CLI, "dev-cert"], capture_output=True, text=True, env=env, check=False)
    certfile, keyfile = tmp_path / "dev-cert.pem", tmp_path / "dev-key.pem"
    port = _free_port()
    server = _start(
        port,
        "--certfile",
        str(certfile),
        "--keyfile",
        str(keyfile),
        env={
            **os.environ  # the keys and database of the test run, not tmp_path's
        },
    )
    try:
        _wait_until_up(server, port)
        context = ssl.create_default_context(cafile=str(certfile))
        response = httpx.get(f"https://127.0.0.1:{port}/healthz", verify=context, timeout=5)
    finally:
        server.terminate()
        server.wait(timeout=15)

    assert made.returncode == 0, made.stderr
    assert again.returncode == 1
    assert "refusing to overwrite" in again.stderr
    assert stat.S_IMODE(keyfile.stat().st_mode) == 0o600
    assert response.status_code == 200
    assert response.headers["strict-transport-security"].startswith("max-age=")


@pytest.mark.usefixtures("db")
def test_an_upload_a_little_too_big_sent_whole_before_reading_gets_the_413(
    server_port: int,
) -> None:
    """As most clients send a file (http.client, requests, browsers): the server drains
    a body up to twice the upload limit rather than reset the connection, which would
    lose the answer; the connection then serves the next request."""
    body = b"x" * (ATTACHMENT_MAX_BYTES + 100_000)  # over the limit (+ 64 KiB), under twice
    head = (
        "POST /graphql/upload HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server_port), timeout=10) as connection:
        connection.sendall(head + body)  # all of it, before reading anything
        refused = _read_response(connection)
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        next_answer = _read_response(connection)

    assert refused.startswith(b"HTTP/1.1 413"), refused[:200]
    assert b"PAYLOAD_TOO_LARGE" in refused
    assert next_answer.startswith(b"HTTP/1.1 200"), next_answer[:200]


@pytest.mark.usefixtures("db")
def test_a_megabyte_of_json_is_refused_413_to_a_client_reading_while_it_sends(
    server_port: int,
) -> None:
    """Over the /graphql limit no client sends in good faith: refused at once and the
    connection closed, unread; a client reading while it sends (curl, browsers) sees why."""
    body = b"x" * 1_000_000
    head = (
        "POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server_port), timeout=10) as connection:
        connection.sendall(head)
        sent = 0
        while sent < len(body) and not select.select([connection], [], [], 0)[0]:
            sent += connection.send(body[sent : sent + 16_384])
        refused = _read_response(connection)

    assert refused.startswith(b"HTTP/1.1 413"), refused[:200]
    assert b"connection: close" in refused.lower()


@pytest.mark.usefixtures("db")
def test_an_oversized_body_announced_with_expect_100_continue_is_refused_and_closed(
    server_port: int,
) -> None:
    head = (
        b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Expect: 100-continue\r\nContent-Length: 10000000\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", server_port), timeout=10) as connection:
        connection.sendall(head)  # and, as the client must after a final answer, no body
        refused = _read_response(connection)
        rest = connection.recv(4096)

    assert refused.startswith(b"HTTP/1.1 413"), refused[:200]
    assert rest == b""  # closed: nothing was left to drain


@pytest.mark.usefixtures("db")
def test_a_large_answer_and_the_next_on_one_connection_arrive_whole_and_in_order(
    server_port: int,
) -> None:
    """Writes are coalesced per event-loop pass (api.write_coalescing): an answer sent in
    many pieces (a static file, streamed) and the small answer after it, on one
    keep-alive connection, arrive byte for byte."""
    asset = Path(__file__).parents[2] / "api" / "static" / "graphiql" / "graphiql.min.js"
    # Both requests at once (pipelined): the second answer must wait for the first.
    (large_head, large_body), (small_head, small_body) = _pipelined(
        server_port,
        b"GET /static/graphiql/graphiql.min.js HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    )

    assert large_head.startswith(b"HTTP/1.1 200"), large_head
    assert large_body == asset.read_bytes()
    assert small_head.startswith(b"HTTP/1.1 200"), small_head
    assert small_body == b'{"status":"ok"}'


@pytest.mark.usefixtures("db")
def test_the_413_made_from_the_head_is_the_edges_own(server_port: int) -> None:
    """A declared body over the /graphql limit is refused by the server as soon as the
    head is complete (api.edge.head_refusal): with every header the edge gives the 413
    it makes itself for a chunked body that grows past the limit, and closed; but not
    charged to the address, so without the RateLimit headers."""
    oversized = (
        b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 10000000\r\n\r\n"
    )
    chunked = (
        b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
        + b"%x\r\n" % 600_000
        + b"x" * 600_000
        + b"\r\n0\r\n\r\n"
    )
    answers = []
    for request in (oversized, chunked):
        with socket.create_connection(("127.0.0.1", server_port), timeout=10) as connection:
            connection.sendall(request)
            answer = _read_response(connection)
            assert _closed_by_server(connection)
        answers.append(answer)

    def headers(answer: bytes) -> dict[bytes, bytes]:
        lines = answer.partition(b"\r\n\r\n")[0].split(b"\r\n")[1:]
        return dict(line.lower().split(b": ", 1) for line in lines)

    from_head, from_edge = answers
    assert from_head.startswith(b"HTTP/1.1 413"), from_head[:200]
    assert from_edge.startswith(b"HTTP/1.1 413"), from_edge[:200]
    assert from_head.partition(b"\r\n\r\n")[2] == from_edge.partition(b"\r\n\r\n")[2]
    charged = {b"ratelimit", b"ratelimit-policy"}
    assert headers(from_head).keys() == headers(from_edge).keys() - charged
    for name in headers(from_edge).keys() - charged - {b"date", b"x-request-id"}:
        assert headers(from_head)[name] == headers(from_edge)[name], name
    assert headers(from_head)[b"x-request-id"] != headers(from_edge)[b"x-request-id"]


@pytest.mark.usefixtures("db")
def test_an_oversized_body_pipelined_after_a_request_is_answered_after_it(
    server_port: int,
) -> None:
    """The head refusal waits for an earlier request on the connection: answers stay in
    order."""
    (first_head, first_body), (second_head, second_body) = _pipelined(
        server_port,
        b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 10000000\r\n\r\n",
    )

    assert first_head.startswith(b"HTTP/1.1 200"), first_head
    assert first_body == b'{"status":"ok"}'
    assert second_head.startswith(b"HTTP/1.1 413"), second_head
    assert b"PAYLOAD_TOO_LARGE" in second_body


def _pipelined(port: int, requests: bytes) -> list[tuple[bytes, bytes]]:
    """``requests`` (two of them) sent in one write on one connection; their two answers,
    each as (head, body), in the order they arrived."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(requests)
        with connection.makefile("rb") as answers:
            return [_read_one(answers), _read_one(answers)]


def _read_one(answers: BinaryIO) -> tuple[bytes, bytes]:
    """One response with a Content-Length body from a buffered reader (what follows it on
    the connection stays in the reader)."""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        line = answers.readline()
        assert line, "connection closed mid-head"
        head += line
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return head, answers.read(length)


def _csrf_pair(port: int) -> tuple[str, str]:
    """A CSRF cookie (``name=value``) and its token, from ``GET /csrf``."""
    response = httpx.get(f"http://127.0.0.1:{port}/csrf", timeout=5)
    token = response.json()["csrfToken"]
    assert response.cookies[csrf_cookie_name(tls=False)] == token
    return f"{csrf_cookie_name(tls=False)}={token}", token


TOO_DEEP_DOCUMENT = json.dumps({"query": "query Deep " + "{ me " * 60 + "}" * 60}).encode()


@pytest.mark.usefixtures("db")
def test_a_document_refused_from_its_text_is_the_edges_answer_and_keeps_the_connection(
    server_port: int,
) -> None:
    """Too deep a document is refused by the server once its body is complete
    (api.edge.document_refusal), with a declared length or chunked: the answer the edge
    gives the same document pipelined behind another request (which the server does not
    hold: that answer comes first), but not charged to the address, so without the
    RateLimit headers; the connection then serves the next request."""
    cookie, token = _csrf_pair(server_port)
    head = (
        "POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Cookie: {cookie}\r\nX-CSRF-Token: {token}\r\n"
    ).encode()
    declared = head + b"Content-Length: %d\r\n\r\n" % len(TOO_DEEP_DOCUMENT) + TOO_DEEP_DOCUMENT
    chunked = (
        head
        + b"Transfer-Encoding: chunked\r\n\r\n"
        + b"%x\r\n" % len(TOO_DEEP_DOCUMENT)
        + TOO_DEEP_DOCUMENT
        + b"\r\n0\r\n\r\n"
    )
    healthz = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server_port), timeout=10) as connection:
        connection.sendall(declared)
        from_server = _read_response(connection)
        connection.sendall(chunked)
        from_server_chunked = _read_response(connection)
        connection.sendall(healthz + declared)  # in one read: the second waits its turn
        with connection.makefile("rb") as answers:
            first, from_edge = (b"".join(_read_one(answers)), b"".join(_read_one(answers)))
        connection.sendall(healthz)
        next_answer = _read_response(connection)

    def headers(answer: bytes) -> dict[bytes, bytes]:
        lines = answer.partition(b"\r\n\r\n")[0].split(b"\r\n")[1:]
        return dict(line.lower().split(b": ", 1) for line in lines)

    assert first.startswith(b"HTTP/1.1 200"), first[:300]
    assert from_server.startswith(b"HTTP/1.1 200"), from_server[:300]
    assert from_edge.startswith(b"HTTP/1.1 200"), from_edge[:300]
    body = from_server.partition(b"\r\n\r\n")[2]
    assert body == from_edge.partition(b"\r\n\r\n")[2]
    assert body == from_server_chunked.partition(b"\r\n\r\n")[2]
    assert headers(from_server_chunked).keys() == headers(from_server).keys()
    assert json.loads(body)["errors"][0]["extensions"]["code"] == "DEPTH_LIMIT_EXCEEDED"
    charged = {b"ratelimit", b"ratelimit-policy"}
    assert charged <= headers(from_edge).keys()
    assert headers(from_server).keys() == headers(from_edge).keys() - charged
    for name in headers(from_edge).keys() - charged - {b"date", b"x-request-id"}:
        assert headers(from_server)[name] == headers(from_edge)[name], name
    assert next_answer.startswith(b"HTTP/1.1 200"), next_answer[:200]


@pytest.mark.usefixtures("db")
def test_a_refused_document_with_connection_close_is_answered_then_closed(
    server_port: int,
) -> None:
    cookie, token = _csrf_pair(server_port)
    request = (
        "POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Cookie: {cookie}\r\nX-CSRF-Token: {token}\r\nConnection: close\r\n"
        f"Content-Length: {len(TOO_DEEP_DOCUMENT)}\r\n\r\n"
    ).encode() + TOO_DEEP_DOCUMENT
    with socket.create_connection(("127.0.0.1", server_port), timeout=10) as connection:
        connection.sendall(request)
        refused = _read_response(connection)
        rest = connection.recv(4096)

    assert refused.startswith(b"HTTP/1.1 200"), refused[:300]
    assert b"DEPTH_LIMIT_EXCEEDED" in refused
    assert b"connection: close" in refused.lower()
    assert rest == b""


def _padded_typename_post(port: int, pad: int) -> tuple[bytes, bytes]:
    """The head (with a CSRF pair) and body of a POST asking for ``__typename``, the body
    padded with an unused variable of ``pad`` characters."""
    cookie, token = _csrf_pair(port)
    document = json.dumps(
        {"query": "query Name { __typename }", "variables": {"pad": "x" * pad}}
    ).encode()
    head = (
        "POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Cookie: {cookie}\r\nX-CSRF-Token: {token}\r\n"
        f"Content-Length: {len(document)}\r\n\r\n"
    ).encode()
    return head, document


@pytest.mark.usefixtures("db")
@pytest.mark.parametrize("chunked", [False, True], ids=["declared", "chunked"])
def test_a_held_body_arriving_in_pieces_reaches_the_app_whole(
    server_port: int, chunked: bool
) -> None:
    """The server holds a POST to /graphql until its body is complete; one the precheck
    lets through is then served by the app on the whole body, sent in three pieces."""
    head, document = _padded_typename_post(server_port, 100_000)
    pieces = [document[:40_000], document[40_000:]]
    if chunked:
        head = head.replace(b"Content-Length: %d" % len(document), b"Transfer-Encoding: chunked")
        pieces = [b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces]
        pieces[-1] += b"0\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server_port), timeout=10) as connection:
        connection.sendall(head)
        for piece in pieces:
            time.sleep(0.2)
            connection.sendall(piece)
        answer = _read_response(connection)

    assert answer.startswith(b"HTTP/1.1 200"), answer[:300]
    assert json.loads(answer.partition(b"\r\n\r\n")[2])["data"] == {"__typename": "Query"}


@pytest.mark.usefixtures("db")
def test_a_pipelined_request_whose_body_comes_later_is_read_as_a_body(
    server_port: int,
) -> None:
    """A request that arrives in the same read as the end of the one before it has its
    own read deadline and head count from its first byte: the rest of its body, sent
    later, is read as body (not counted as an overlong head: no 431)."""
    second, document = _padded_typename_post(server_port, 40_000)
    with socket.create_connection(("127.0.0.1", server_port), timeout=10) as connection:
        connection.sendall(
            b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" + second + document[:1_000]
        )
        for piece in (document[1_000:21_000], document[21_000:]):  # each in a read of its own
            time.sleep(0.3)
            connection.sendall(piece)
        with connection.makefile("rb") as answers:
            (first_head, _), (second_head, second_body) = (
                _read_one(answers),
                _read_one(answers),
            )

    assert first_head.startswith(b"HTTP/1.1 200"), first_head
    assert second_head.startswith(b"HTTP/1.1 200"), second_head + second_body[:300]
    assert json.loads(second_body)["data"] == {"__typename": "Query"}


@pytest.mark.usefixtures("db")
def test_a_chunked_body_past_the_limit_is_not_held_to_its_end(server_port: int) -> None:
    """The server holds a chunked body only up to the body limit (512 KiB): past it the
    request goes on to the edge, whose body limit answers 413 without waiting for a
    body that never ends (here: one chunk announced at 2 MB, 600 kB of it sent)."""
    cookie, token = _csrf_pair(server_port)
    head = (
        "POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Cookie: {cookie}\r\nX-CSRF-Token: {token}\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server_port), timeout=10) as connection:
        connection.sendall(head + b"%x\r\n" % 2_000_000 + b"x" * 600_000)
        answer = connection.recv(4096)  # blocks until the server answers or closes

    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
