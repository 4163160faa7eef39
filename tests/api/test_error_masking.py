"""Unexpected errors reach clients as a generic message with an error id, never internals."""

from __future__ import annotations

import pytest

from permissions.roles import Role
from tests.factories import make_user, principal_of
from tests.graphql_client import execute


@pytest.mark.usefixtures("db")
async def test_unexpected_error_is_masked_with_an_error_id(monkeypatch: pytest.MonkeyPatch) -> None:
    import schema.loaders

    async def explode(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("secret internal detail: password=hunter2")

    # What `me` loads its user through.
    monkeypatch.setattr(schema.loaders, "users_with_sealed_contact_by_ids", explode)
    alice = await make_user(Role.customer)

    result = await execute("{ me { id } }", principal_of(alice))

    error = result.errors[0]
    assert error.message == "Internal server error."
    assert error.extensions["code"] == "INTERNAL_SERVER_ERROR"
    assert len(error.extensions["errorId"]) == 32
    assert "hunter2" not in str(result.errors)
