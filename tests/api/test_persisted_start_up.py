"""A persisted operation's first request after a restart is served prepared.

The app loads the allowlist at start-up and prepares every document on it (parsed,
measured, validated, costed: schema.guards.prepared), so the very first request naming
one — the first of the process — parses and validates nothing.
"""

from __future__ import annotations

from typing import Any

import graphql.language.parser
import pytest
import strawberry.schema.schema
from litestar.testing import AsyncTestClient

import schema.guards.cost
from api.app import create_app
from api.settings import Settings
from tests.csrf_helpers import with_csrf
from tests.persisted import allowlist

pytestmark = pytest.mark.usefixtures("db")

LISTED = "query Listed { me { id role } }"


def _ran(*_args: Any, **_kwargs: Any) -> Any:
    raise AssertionError("a request parsed, validated or costed a persisted operation")


async def test_the_first_request_for_a_listed_operation_parses_and_validates_nothing(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    sha256 = await allowlist(LISTED, "anonymous")
    by_id = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha256}}}

    async with AsyncTestClient(app=create_app(settings)) as client:  # start-up has run
        monkeypatch.setattr(graphql.language.parser.Parser, "parse_document", _ran)
        monkeypatch.setattr(strawberry.schema.schema, "validate", _ran)
        monkeypatch.setattr(schema.guards.cost, "compile_plan", _ran)
        await with_csrf(client)
        first = await client.post("/graphql", json=by_id)
        as_text = await client.post("/graphql", json={"query": LISTED})
        unlisted = await client.post("/graphql", json={"query": "query Other { me { id } }"})

    assert first.status_code == 200
    assert "errors" not in first.json()
    assert first.json()["data"] == {"me": None}
    assert as_text.json()["data"] == {"me": None}
    # The blocks bite: a text that is not listed is parsed, and fails here.
    assert unlisted.json()["data"] is None
    assert unlisted.json()["errors"]


async def test_the_allowlist_is_kept_fresh_while_the_app_runs_and_no_longer(
    settings: Settings,
) -> None:
    app = create_app(settings)
    gate = app.state.persisted_operations

    async with AsyncTestClient(app=app):
        while_running = gate.keeping_fresh

    assert while_running
    assert not gate.keeping_fresh  # cancelled at shutdown
