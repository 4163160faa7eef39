"""Persisted operations at /graphql: the three rollout steps, ids, partners, APQ
registration by admins, GET and batches — over HTTP against the real app."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from structlog.testing import capture_logs

from api.app import OpenDeskApp
from audit.tables import AuditEvent
from operations.allowlist import document_hash
from operations.tables import PersistedOperation
from permissions.roles import Role
from tests.csrf_helpers import with_csrf
from tests.edge_http.conftest import http_client, signed_in
from tests.factories import make_organisation
from tests.permissions.identity_world import issue_partner_key
from tests.persisted import allowlist

pytestmark = pytest.mark.usefixtures("db")

ME = "query Me { me { id } }"
OTHER = "query Other { me { role } }"


def persisted(sha256: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha256}}


def ran(answer: dict[str, Any]) -> Any:
    """The data of an answer that has no errors."""
    assert "errors" not in answer, answer
    return answer["data"]


def codes(answer: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in answer.get("errors", [])]


@pytest.fixture
def served(
    make_app: Callable[..., OpenDeskApp],
) -> Callable[..., AbstractAsyncContextManager[tuple[OpenDeskApp, httpx.AsyncClient]]]:
    """An app built with ``overrides`` and an HTTP client for it."""

    @asynccontextmanager
    async def serve(**overrides: Any) -> AsyncIterator[tuple[OpenDeskApp, httpx.AsyncClient]]:
        app = make_app(**overrides)
        async with http_client(app) as client:
            yield app, client

    return serve


async def post(client: httpx.AsyncClient, body: dict[str, Any] | list[Any], **headers: str) -> Any:
    response = await client.post("/graphql", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
async def off(served: Callable[..., Any]) -> AsyncIterator[tuple[OpenDeskApp, httpx.AsyncClient]]:
    async with served(persisted_operations="off") as (app, client):
        yield app, await with_csrf(client)


async def test_off_runs_any_text_and_serves_known_ids(off: Any) -> None:
    _app, client = off
    sha256 = await allowlist(ME, "anonymous")

    by_text = await post(client, {"query": OTHER})
    by_id = await post(client, {"extensions": persisted(sha256)})
    unknown = await post(client, {"extensions": persisted(document_hash(OTHER))})

    assert ran(by_text) == {"me": None}
    assert ran(by_id) == {"me": None}
    assert unknown["errors"][0]["message"] == "PersistedQueryNotFound"
    assert codes(unknown) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert "data" not in unknown or unknown["data"] is None


@pytest.mark.parametrize(
    ("extensions", "message"),
    [
        ({"persistedQuery": {"version": 2, "sha256Hash": "0" * 64}}, "version"),
        ({"persistedQuery": "abc"}, "version"),
        ({"persistedQuery": {"version": 1, "sha256Hash": "ABC"}}, "64 lower-case hex"),
        ({"persistedQuery": {"version": 1, "sha256Hash": "0" * 63 + "G"}}, "64 lower-case hex"),
        ({"persistedQuery": {"version": 1}}, "64 lower-case hex"),
    ],
)
async def test_malformed_ids_are_bad_input(off: Any, extensions: Any, message: str) -> None:
    _app, client = off

    answer = await post(client, {"query": ME, "extensions": extensions})

    assert codes(answer) == ["BAD_USER_INPUT"]
    assert message in answer["errors"][0]["message"]


async def test_an_id_that_is_not_the_texts_hash_is_refused(off: Any) -> None:
    _app, client = off
    await allowlist(ME, "anonymous")

    # Sending a listed id with other text must not run the other text.
    answer = await post(client, {"query": OTHER, "extensions": persisted(document_hash(ME))})

    assert codes(answer) == ["BAD_USER_INPUT"]
    assert answer.get("data") is None


async def test_log_mode_runs_unknown_operations_and_logs_their_hash_only(
    served: Callable[..., Any],
) -> None:
    async with served(persisted_operations="log") as (_app, client):
        await with_csrf(client)
        await allowlist(ME, "anonymous")
        with capture_logs() as logs:
            unknown = await post(client, {"query": OTHER, "operationName": "Other"})
            known = await post(client, {"query": ME})

    assert ran(unknown) == {"me": None}
    assert ran(known) == {"me": None}
    events = [log for log in logs if log["event"] == "graphql_unknown_operation"]
    assert len(events) == 1
    assert events[0]["operation_hash"] == document_hash(OTHER)
    assert events[0]["operation_name"] == "Other"
    assert events[0]["principal"] == {"kind": "anonymous", "id": None}
    assert OTHER not in json.dumps(events, default=str)


async def test_allowlist_mode_runs_listed_operations_only_for_their_audience(
    served: Callable[..., Any],
) -> None:
    async with served(persisted_operations="allowlist", persisted_refresh_seconds=0.05) as (
        app,
        client,
    ):
        await allowlist(ME, "anonymous")
        await allowlist(OTHER, "role:agent")
        await signed_in(app, client, Role.customer)
        await with_csrf(client)
        with capture_logs() as logs:
            listed_for_others = await post(client, {"query": OTHER})
            by_foreign_id = await post(client, {"extensions": persisted(document_hash(OTHER))})
            unlisted = await post(client, {"query": "{ me { id role } }"})
        # Listed by another process: this one sees it after its refresh interval.
        await allowlist(OTHER, "role:customer")
        await asyncio.sleep(0.06)
        listed = await post(client, {"query": OTHER})
        by_id = await post(client, {"extensions": persisted(document_hash(OTHER))})

    assert codes(listed_for_others) == ["PERSISTED_QUERY_NOT_IN_LIST"]
    # Someone else's id answers exactly like an unknown one.
    assert codes(by_foreign_id) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert codes(unlisted) == ["PERSISTED_QUERY_NOT_IN_LIST"]
    assert ran(listed) == {"me": {"role": "customer"}}
    assert ran(by_id) == ran(listed)
    refusals = [log for log in logs if log["event"] == "graphql_guard_refused"]
    assert [log["rule"] for log in refusals] == [
        "PERSISTED_QUERY_NOT_IN_LIST",
        "PERSISTED_QUERY_NOT_FOUND",
        "PERSISTED_QUERY_NOT_IN_LIST",
    ]
    assert all(log["principal"]["kind"] == "user" and log["principal"]["id"] for log in refusals)
    assert all(log["operation_hash"] for log in refusals)


@pytest.mark.parametrize(
    "overrides",
    [{"persisted_operations": "require"}, {"require_persisted": True}],
    ids=["mode", "OPENDESK_REQUIRE_PERSISTED"],
)
async def test_require_mode_runs_ids_only(
    served: Callable[..., Any], overrides: dict[str, Any]
) -> None:
    async with served(**overrides) as (_app, client):
        await with_csrf(client)
        sha256 = await allowlist(ME, "anonymous")
        listed_text = await post(client, {"query": ME})
        listed_text_with_id = await post(client, {"query": ME, "extensions": persisted(sha256)})
        by_id = await post(client, {"extensions": persisted(sha256)})
        by_get = await client.get("/graphql", params={"extensions": json.dumps(persisted(sha256))})
        text_by_get = await client.get("/graphql", params={"query": ME})

    assert codes(listed_text) == ["PERSISTED_QUERY_ID_REQUIRED"]
    assert codes(listed_text_with_id) == ["PERSISTED_QUERY_ID_REQUIRED"]
    assert ran(by_id) == {"me": None}
    assert by_get.status_code == 200
    assert ran(by_get.json()) == {"me": None}
    assert codes(text_by_get.json()) == ["PERSISTED_QUERY_ID_REQUIRED"]


async def test_a_persisted_mutation_is_never_run_over_get(off: Any) -> None:
    _app, client = off
    sha256 = await allowlist("mutation { logout }", "anonymous")

    response = await client.get("/graphql", params={"extensions": json.dumps(persisted(sha256))})

    assert response.status_code in (400, 405)
    assert "data" not in response.text


async def _partner_key(app: OpenDeskApp, organisation_id: Any) -> tuple[str, str]:
    record, key = await issue_partner_key(
        app.state.resources.identity, ["tickets:read"], organisation_id
    )
    return str(record.id), key


async def test_partners_run_allowlisted_operations_even_when_the_mode_is_off(off: Any) -> None:
    app, client = off
    organisation = await make_organisation()
    key_id, key = await _partner_key(app, organisation.id)
    _other_id, other_key = await _partner_key(app, organisation.id)
    await allowlist(ME, "partner")
    await allowlist(OTHER, f"partner:{key_id}")
    bearer = {"authorization": f"Bearer {key}"}

    for_all_partners = await post(client, {"query": ME}, **bearer)
    for_this_key = await post(client, {"query": OTHER}, **bearer)
    for_another_key = await post(client, {"query": OTHER}, authorization=f"Bearer {other_key}")
    unlisted = await post(client, {"query": "{ me { id role } }"}, **bearer)

    assert ran(for_all_partners) == {"me": None}
    assert ran(for_this_key) == {"me": None}
    assert codes(for_another_key) == ["PERSISTED_QUERY_NOT_IN_LIST"]
    assert codes(unlisted) == ["PERSISTED_QUERY_NOT_IN_LIST"]


async def test_an_admin_with_mfa_registers_by_apq_and_the_change_is_audited(
    served: Callable[..., Any],
) -> None:
    document = "query AdminTool { me { id role } }"
    sha256 = document_hash(document)
    async with served(persisted_operations="allowlist") as (app, client):
        admin = await signed_in(app, client, Role.admin, mfa=True)
        await with_csrf(client)
        unknown_id = await post(client, {"extensions": persisted(sha256)})
        registered = await post(
            client,
            {"query": document, "operationName": "AdminTool", "extensions": persisted(sha256)},
        )
        by_id = await post(client, {"extensions": persisted(sha256)})

    assert codes(unknown_id) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert ran(registered) == {"me": {"id": str(admin.id), "role": "admin"}}
    assert ran(by_id) == ran(registered)
    row = await PersistedOperation.select().where(PersistedOperation.sha256 == sha256).first()
    assert row is not None
    assert row["audiences"] == "role:admin"
    assert row["name"] == "AdminTool"
    event = await AuditEvent.select().where(AuditEvent.target_id == sha256).first()
    assert event is not None
    assert event["event_type"] == "persisted_operation.registered"
    assert event["actor_id"] == admin.id


@pytest.mark.parametrize(("role", "mfa"), [(Role.customer, False), (Role.admin, False)])
async def test_nobody_else_registers(served: Callable[..., Any], role: Role, mfa: bool) -> None:
    document = "query Sneaky { me { id } }"
    sha256 = document_hash(document)
    async with served(persisted_operations="allowlist") as (app, client):
        await signed_in(app, client, role, mfa=mfa)
        await with_csrf(client)
        attempt = await post(client, {"query": document, "extensions": persisted(sha256)})

    assert codes(attempt) == ["PERSISTED_QUERY_NOT_IN_LIST"]
    assert await PersistedOperation.count() == 0


async def test_an_invalid_document_is_not_registered(served: Callable[..., Any]) -> None:
    document = "query Broken { nope }"
    async with served(persisted_operations="allowlist") as (app, client):
        await signed_in(app, client, Role.admin, mfa=True)
        await with_csrf(client)
        answer = await post(
            client, {"query": document, "extensions": persisted(document_hash(document))}
        )

    assert codes(answer) == ["GRAPHQL_VALIDATION_FAILED"]
    assert await PersistedOperation.count() == 0


async def test_each_operation_of_a_batch_passes_the_gate(served: Callable[..., Any]) -> None:
    async with served(persisted_operations="allowlist", graphql_max_batch=5) as (_app, client):
        await with_csrf(client)
        sha256 = await allowlist(ME, "anonymous")
        answers = await post(
            client, [{"extensions": persisted(sha256)}, {"query": OTHER}, {"query": ME}]
        )

    assert ran(answers[0]) == {"me": None}
    assert codes(answers[1]) == ["PERSISTED_QUERY_NOT_IN_LIST"]
    assert ran(answers[2]) == {"me": None}


async def test_a_get_naming_an_id_is_no_page_load(off: Any) -> None:
    _app, client = off
    sha256 = await allowlist(ME, "anonymous")

    response = await client.get(
        "/graphql",
        params={"extensions": json.dumps(persisted(sha256))},
        headers={"accept": "text/html,*/*"},
    )

    assert response.status_code == 200
    assert ran(response.json()) == {"me": None}


async def test_an_admin_registers_only_by_post_and_only_single_operations(
    served: Callable[..., Any],
) -> None:
    single = "query ViaGet { me { id } }"
    several = "query One { me { id } } query Two { me { role } }"
    async with served(persisted_operations="allowlist") as (app, client):
        await signed_in(app, client, Role.admin, mfa=True)
        await with_csrf(client)
        by_get = await client.get(
            "/graphql",
            params={"query": single, "extensions": json.dumps(persisted(document_hash(single)))},
        )
        two_operations = await client.post(
            "/graphql",
            json={
                "query": several,
                "operationName": "One",
                "extensions": persisted(document_hash(several)),
            },
        )

    assert by_get.status_code == 200
    assert codes(by_get.json()) == ["PERSISTED_QUERY_NOT_IN_LIST"]
    assert two_operations.status_code == 200  # not a 500
    assert await PersistedOperation.count() == 0
