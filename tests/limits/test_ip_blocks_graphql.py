"""blockIp / unblockIp / ipBlocks: admins only, through the same block_ip path."""

from __future__ import annotations

import pytest

from permissions.principal import ANONYMOUS, Principal
from permissions.roles import Role
from tests.factories import make_user, principal_of
from tests.graphql_client import execute

pytestmark = pytest.mark.usefixtures("db")

BLOCK = """mutation($input: BlockIpInput!) {
  blockIp(input: $input) { id network reason createdBy expiresAt active }
}"""
UNBLOCK = "mutation($id: ID!) { unblockIp(id: $id) }"
LIST = "query($all: Boolean!) { ipBlocks(first: 10, includeInactive: $all) { network active } }"


async def admin() -> Principal:
    return principal_of(await make_user(Role.admin))


async def test_an_admin_blocks_lists_and_unblocks_an_ipv6_network() -> None:
    principal = await admin()

    blocked = await execute(
        BLOCK,
        principal,
        {"input": {"network": "2001:db8:1::/48", "reason": "scraping", "expiresAt": None}},
    )
    block = blocked.data["blockIp"]
    listed = await execute(LIST, principal, {"all": False})
    ended = await execute(UNBLOCK, principal, {"id": block["id"]})
    after = await execute(LIST, principal, {"all": False})
    history = await execute(LIST, principal, {"all": True})

    assert block["network"] == "2001:db8:1::/48"
    assert block["createdBy"] == f"user:{principal.user_id}"
    assert block["active"] is True
    assert listed.data["ipBlocks"] == [{"network": "2001:db8:1::/48", "active": True}]
    assert ended.data["unblockIp"] is True
    assert after.data["ipBlocks"] == []
    assert history.data["ipBlocks"] == [{"network": "2001:db8:1::/48", "active": False}]


@pytest.mark.parametrize("role", [Role.agent, Role.auditor, Role.customer, None])
async def test_only_admins_may_touch_ip_blocks(role: Role | None) -> None:
    principal = ANONYMOUS if role is None else principal_of(await make_user(role))

    results = [
        await execute(BLOCK, principal, {"input": {"network": "203.0.113.1", "reason": "x"}}),
        await execute(LIST, principal, {"all": True}),
        await execute(UNBLOCK, principal, {"id": "00000000-0000-0000-0000-000000000000"}),
    ]

    for result in results:
        assert result.data is None
        assert result.errors[0].extensions["code"] == "FORBIDDEN"
    admin_view = await execute(LIST, await admin(), {"all": True})
    assert admin_view.data["ipBlocks"] == []


async def test_a_malformed_network_is_bad_user_input() -> None:
    result = await execute(
        BLOCK, await admin(), {"input": {"network": "10.0.0.1/8", "reason": "x"}}
    )

    assert result.errors[0].extensions == {"code": "BAD_USER_INPUT", "field": "network"}


async def test_blocking_and_unblocking_are_audited_without_the_address() -> None:
    import uuid as uuid_module

    from audit.ip_blocks import block_ip, unblock_ip
    from audit.tables import AuditEvent
    from audit.trail import verify_trail

    admin_id = uuid_module.uuid4()
    record = await block_ip("198.51.100.77", "credential stuffing", None, f"user:{admin_id}")
    assert await unblock_ip(record.id, "system:expiry-sweep")

    events = await AuditEvent.select().order_by(AuditEvent.id).output(load_json=True)
    assert [(e["event_type"], e["actor_id"]) for e in events] == [
        ("ip.blocked", admin_id),
        ("ip.unblocked", None),
    ]
    assert events[0]["details"]["prefix_length"] == 32
    assert "198.51.100.77" not in str(events)
    assert (await verify_trail()).intact
