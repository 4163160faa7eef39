"""Uploads over the GraphQL multipart request spec, and the authorised download.

Refusals: oversize (at the edge and per file), disguised types, path-traversal names,
polyglots, missing CSRF token, the wrong content type or route, too many files, another
organisation's ticket, and a scanner that says no.
"""

from __future__ import annotations

import hashlib
import json
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import OpenDeskApp
from audit.tables import AuditEvent
from desk.attachments import AcceptAll, AttachmentStore, ScanVerdict
from desk.services.attachments import AttachmentPolicy
from desk.tables import Attachment
from permissions.roles import Role
from tests.desk import attachment_samples as samples
from tests.edge_http.conftest import ALLOWED_ORIGIN, csrf_token, http_client, signed_in
from tests.factories import make_ticket
from tests.persisted import allowlist

pytestmark = pytest.mark.usefixtures("db")

UPLOAD = "/graphql/upload"
MUTATION = (
    "mutation($ticket: ID!, $file: Upload!) { uploadAttachment(ticketId: $ticket, file: $file)"
    " { id filename contentType sizeBytes downloadPath } }"
)
MAX_BYTES = 4096


class Refusing:
    async def scan(self, data: bytes, content_type: str) -> ScanVerdict:
        return ScanVerdict(accepted=False, reason="EICAR-Test-Signature")


def _policy(root: Path, scanner: Any = None) -> AttachmentPolicy:
    return AttachmentPolicy(
        store=AttachmentStore(root),
        scanner=scanner or AcceptAll(),
        max_bytes=MAX_BYTES,
        max_per_ticket=3,
    )


@pytest.fixture
def store_root(tmp_path: Path) -> Path:
    return tmp_path / "attachments"


@pytest.fixture
async def app(make_app: Callable[..., OpenDeskApp], store_root: Path) -> OpenDeskApp:
    built = make_app(cors_allowed_origins=(ALLOWED_ORIGIN,), attachment_max_bytes=MAX_BYTES)
    built.state.resources.attachments = _policy(store_root)
    return built


async def _upload(
    client: httpx.AsyncClient,
    ticket_id: Any,
    data: bytes,
    name: str = "file.bin",
    *,
    client_type: str = "application/octet-stream",
    query: str = MUTATION,
    token: str | None = None,
) -> httpx.Response:
    token = token if token is not None else await csrf_token(client)
    operations = {"query": query, "variables": {"ticket": str(ticket_id), "file": None}}
    return await client.post(
        UPLOAD,
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": (name, data, client_type)},
        headers={"x-csrf-token": token},
    )


def _code(response: httpx.Response) -> str:
    body = response.json()
    if "errors" in body:
        return str(body["errors"][0]["extensions"]["code"])
    return str(body.get("code"))


async def test_an_upload_is_stored_outside_any_served_path_under_a_random_name(
    app: OpenDeskApp, client: httpx.AsyncClient, store_root: Path
) -> None:
    user = await signed_in(app, client)
    ticket = await make_ticket(user)
    data = samples.png()

    response = await _upload(
        client, ticket.id, data, "../../screenshot.png", client_type="text/html"
    )

    uploaded = response.json()["data"]["uploadAttachment"]
    assert uploaded["filename"] == "screenshot.png"
    assert uploaded["contentType"] == "image/png"  # from the bytes, not the client's header
    assert uploaded["sizeBytes"] == len(data)
    row = await Attachment.select().where(Attachment.id == uploaded["id"]).first()
    stored = store_root / row["storage_key"]
    assert stored.read_bytes() == data
    assert len(row["storage_key"]) == 64
    assert "screenshot" not in row["storage_key"]
    assert row["sha256"] == hashlib.sha256(data).hexdigest()
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert stat.S_IMODE(store_root.stat().st_mode) == 0o700
    assert [path.name for path in store_root.iterdir()] == [row["storage_key"]]
    events = await AuditEvent.select().where(AuditEvent.event_type == "attachment_uploaded")
    assert [event["target_id"] for event in events] == [uploaded["id"]]


async def test_the_download_is_an_attachment_with_nosniff_and_a_sandbox(
    app: OpenDeskApp, client: httpx.AsyncClient
) -> None:
    user = await signed_in(app, client)
    ticket = await make_ticket(user)
    data = "Grüße\n".encode()
    uploaded = (await _upload(client, ticket.id, data, "naïve notes.txt")).json()["data"]
    path = uploaded["uploadAttachment"]["downloadPath"]

    response = await client.get(path, headers={"x-csrf-token": await csrf_token(client)})

    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"na_ve notes.txt\"; filename*=UTF-8''na%C3%AFve%20notes.txt"
    )
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"].startswith("sandbox; default-src 'none'")
    assert response.headers["cache-control"] == "no-store"


async def test_another_organisations_attachment_answers_like_a_missing_one(
    app: OpenDeskApp, client: httpx.AsyncClient
) -> None:
    owner = await signed_in(app, client)
    ticket = await make_ticket(owner)
    uploaded = (await _upload(client, ticket.id, samples.gif())).json()["data"]
    path = uploaded["uploadAttachment"]["downloadPath"]
    async with http_client(app) as stranger_client:
        await signed_in(app, stranger_client)
        token = await csrf_token(stranger_client)
        foreign = await stranger_client.get(path, headers={"x-csrf-token": token})
        missing = await stranger_client.get(
            "/attachments/00000000-0000-4000-8000-000000000000", headers={"x-csrf-token": token}
        )
        upload = await _upload(stranger_client, ticket.id, samples.gif())

    assert (foreign.status_code, foreign.json()) == (missing.status_code, missing.json())
    assert foreign.status_code == 404
    assert _code(upload) == "NOT_FOUND"


async def test_staff_see_it_and_signed_out_callers_do_not(
    app: OpenDeskApp, client: httpx.AsyncClient
) -> None:
    customer = await signed_in(app, client)
    ticket = await make_ticket(customer)
    uploaded = (await _upload(client, ticket.id, samples.jpeg())).json()["data"]
    path = uploaded["uploadAttachment"]["downloadPath"]
    async with http_client(app) as agent_client, http_client(app) as anonymous:
        await signed_in(app, agent_client, Role.agent)
        agent = await agent_client.get(
            path, headers={"x-csrf-token": await csrf_token(agent_client)}
        )
        signed_out = await anonymous.get(path)

    assert agent.status_code == 200
    assert signed_out.status_code == 404


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("photo.png", b"<html><body><script>alert(1)</script></body></html>"),  # disguised
        ("invoice.pdf", b"MZ\x90\x00\x03\x00\x00\x00 an executable"),
        ("cat.gif", samples.gif(comment=b"<script>alert(1)</script>")),  # GIF/HTML polyglot
        ("cat.gif", samples.gif() + b"<html><script>alert(1)</script>"),
        ("scan.png", samples.png() + b"PK\x03\x04 appended zip"),
        ("form.pdf", samples.pdf(b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >>")),
        ("empty.txt", b""),
    ],
)
async def test_disguised_types_and_polyglots_are_refused_and_nothing_is_stored(
    app: OpenDeskApp, client: httpx.AsyncClient, store_root: Path, name: str, data: bytes
) -> None:
    user = await signed_in(app, client)
    ticket = await make_ticket(user)

    response = await _upload(client, ticket.id, data, name, client_type="image/png")

    assert _code(response) == "ATTACHMENT_REFUSED"
    assert "<script" not in response.text
    assert await Attachment.count() == 0
    assert not store_root.exists() or not any(store_root.iterdir())


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../../../etc/cron.d/job.txt", "job.txt"),
        ("..\\..\\AppData\\evil.txt", "evil.txt"),
        ("/dev/null", "null.txt"),
        ("....txt", "txt.txt"),
    ],
)
async def test_path_traversal_names_become_plain_labels(
    app: OpenDeskApp, client: httpx.AsyncClient, store_root: Path, raw: str, expected: str
) -> None:
    user = await signed_in(app, client)
    ticket = await make_ticket(user)

    response = await _upload(client, ticket.id, b"just text", raw)

    assert response.json()["data"]["uploadAttachment"]["filename"] == expected
    assert [path.parent for path in store_root.iterdir()] == [store_root]


async def test_a_file_over_the_limit_is_refused(
    app: OpenDeskApp, client: httpx.AsyncClient
) -> None:
    user = await signed_in(app, client)
    ticket = await make_ticket(user)

    over_file_limit = await _upload(client, ticket.id, b"a" * (MAX_BYTES + 1), "big.txt")
    over_body_limit = await _upload(client, ticket.id, b"a" * (MAX_BYTES + 70_000), "huge.txt")

    assert _code(over_file_limit) == "ATTACHMENT_REFUSED"
    assert over_body_limit.status_code == 413
    assert _code(over_body_limit) == "PAYLOAD_TOO_LARGE"
    assert await Attachment.count() == 0


async def test_a_ticket_holds_a_bounded_number_of_attachments(
    app: OpenDeskApp, client: httpx.AsyncClient
) -> None:
    user = await signed_in(app, client)
    ticket = await make_ticket(user)

    answers = [await _upload(client, ticket.id, f"note {n}".encode()) for n in range(4)]

    assert [_code(answer) for answer in answers[:3]] == ["None"] * 3
    assert _code(answers[3]) == "ATTACHMENT_REFUSED"


async def test_a_rejecting_scanner_stops_the_upload(
    app: OpenDeskApp, client: httpx.AsyncClient, store_root: Path
) -> None:
    app.state.resources.attachments = _policy(store_root, Refusing())
    user = await signed_in(app, client)
    ticket = await make_ticket(user)

    response = await _upload(client, ticket.id, samples.pdf())

    assert _code(response) == "ATTACHMENT_REFUSED"
    assert "EICAR" not in response.text  # the scanner's finding is audited, not shown
    assert await Attachment.count() == 0
    assert not store_root.exists() or not any(store_root.iterdir())
    events = await AuditEvent.select().where(AuditEvent.event_type == "attachment_rejected")
    details = [
        json.loads(event["details"]) if isinstance(event["details"], str) else event["details"]
        for event in events
    ]
    assert [entry["reason"] for entry in details] == ["EICAR-Test-Signature"]


async def test_uploads_need_the_csrf_token(app: OpenDeskApp, client: httpx.AsyncClient) -> None:
    user = await signed_in(app, client)
    ticket = await make_ticket(user)

    without = await client.post(
        UPLOAD,
        data={"operations": "{}", "map": "{}"},
        files={"0": ("a.txt", b"hi", "text/plain")},
    )
    wrong = await _upload(client, ticket.id, b"hi", token="forged-token")

    assert (without.status_code, _code(without)) == (403, "CSRF_FAILED")
    assert (wrong.status_code, _code(wrong)) == (403, "CSRF_FAILED")
    assert await Attachment.count() == 0


async def test_multipart_goes_to_the_upload_route_only_and_json_not_there(
    app: OpenDeskApp, client: httpx.AsyncClient
) -> None:
    await signed_in(app, client)
    token = await csrf_token(client)
    headers = {"x-csrf-token": token}

    to_graphql = await client.post(
        "/graphql", data={"operations": "{}"}, files={"0": ("a.txt", b"hi")}, headers=headers
    )
    json_upload = await client.post(UPLOAD, json={"query": MUTATION}, headers=headers)
    form_upload = await client.post(UPLOAD, data={"operations": "{}"}, headers=headers)

    assert [to_graphql.status_code, json_upload.status_code, form_upload.status_code] == [415] * 3


async def test_the_upload_route_runs_the_upload_mutation_and_nothing_else(
    app: OpenDeskApp, client: httpx.AsyncClient
) -> None:
    user = await signed_in(app, client)
    ticket = await make_ticket(user)
    other = (
        "mutation($ticket: ID!, $file: Upload!) { uploadAttachment(ticketId: $ticket, file: $file)"
        " { id } logout }"
    )

    response = await _upload(client, ticket.id, b"hi", query=other)
    query = await _upload(client, ticket.id, b"hi", query="query { me { id } }")

    assert _code(response) == "BAD_REQUEST"
    assert _code(query) == "BAD_REQUEST"
    assert await Attachment.count() == 0


async def test_a_persisted_id_is_checked_as_the_operation_it_names(
    app: OpenDeskApp, client: httpx.AsyncClient
) -> None:
    user = await signed_in(app, client)
    ticket = await make_ticket(user)
    other = "mutation { logout }"
    sha256 = await allowlist(other, "role:customer")
    operations = {
        "variables": {"ticket": str(ticket.id), "file": None},
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha256}},
    }

    response = await client.post(
        UPLOAD,
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": ("file.txt", b"hi", "text/plain")},
        headers={"x-csrf-token": await csrf_token(client)},
    )

    assert _code(response) == "BAD_REQUEST"
    assert await Attachment.count() == 0
    # Still signed in: the named logout did not run.
    assert (
        await client.post(
            "/graphql",
            json={"query": "{ me { id } }"},
            headers={"x-csrf-token": await csrf_token(client)},
        )
    ).json()["data"]["me"] is not None


async def test_more_than_one_file_or_a_broken_map_is_a_clean_400(
    app: OpenDeskApp, client: httpx.AsyncClient
) -> None:
    user = await signed_in(app, client)
    ticket = await make_ticket(user)
    token = await csrf_token(client)
    operations = {"query": MUTATION, "variables": {"ticket": str(ticket.id), "file": None}}

    async def post(files_map: object, files: dict[str, Any]) -> httpx.Response:
        return await client.post(
            UPLOAD,
            data={"operations": json.dumps(operations), "map": json.dumps(files_map)},
            files=files,
            headers={"x-csrf-token": token},
        )

    two = await post(
        {"0": ["variables.file"], "1": ["variables.file"]},
        {
            "0": ("a.txt", b"a", "text/plain"),
            "1": ("b.txt", b"b", "text/plain"),
        },
    )
    broken = await post({"0": ["variables.nope.deeper"]}, {"0": ("a.txt", b"a", "text/plain")})
    not_a_list = await post({"0": "variables.file"}, {"0": ("a.txt", b"a", "text/plain")})

    assert [two.status_code, broken.status_code, not_a_list.status_code] == [400, 400, 400]
    assert await Attachment.count() == 0


async def test_a_string_in_place_of_the_file_is_refused_on_graphql(
    app: OpenDeskApp, client: httpx.AsyncClient
) -> None:
    user = await signed_in(app, client)
    ticket = await make_ticket(user)

    response = await client.post(
        "/graphql",
        json={"query": MUTATION, "variables": {"ticket": str(ticket.id), "file": "not a file"}},
        headers={"x-csrf-token": await csrf_token(client)},
    )

    assert _code(response) == "BAD_USER_INPUT"
    assert await Attachment.count() == 0


async def test_a_file_larger_than_the_json_body_limit_still_uploads(
    make_app: Callable[..., OpenDeskApp], store_root: Path
) -> None:
    app = make_app(attachment_max_bytes=3_000_000)
    app.state.resources.attachments = AttachmentPolicy(
        store=AttachmentStore(store_root),
        scanner=AcceptAll(),
        max_bytes=3_000_000,
        max_per_ticket=3,
    )
    data = b"log line\n" * 250_000  # 2.25 MB, over the 1 MB JSON limit
    async with http_client(app) as client:
        user = await signed_in(app, client)
        ticket = await make_ticket(user)
        response = await _upload(client, ticket.id, data, "server.log")

    assert response.json()["data"]["uploadAttachment"]["sizeBytes"] == len(data)
