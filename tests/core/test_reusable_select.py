"""A reusable select answers exactly what the Piccolo select it stands for answers, with
every call's own values, and refuses what would let one caller's value reach another."""

from __future__ import annotations

import enum
import uuid
from typing import Any

import pytest
from piccolo.query import Select
from piccolo.querystring import QueryString

from accounts.services.users import (
    _USER_COLUMNS,
    users_with_sealed_contact_and_flag,
    users_with_sealed_contact_by_ids,
)
from accounts.tables import User
from core.reusable_select import ReusableSelect
from desk.tables import Ticket
from permissions.relations import ASSIGNED_FLAG, assigned_requester_column
from permissions.roles import Role
from tests.factories import make_organisation, make_ticket, make_user, principal_of

pytestmark = pytest.mark.usefixtures("db")

COLUMNS = (User.id, User.organisation, User.display_name, User.role, User.is_active)


def by_ids(ids: Any) -> Select[Any]:
    return User.select(*COLUMNS).where(User.id.is_in(ids))


def with_flag(ids: Any, name: Any) -> Select[Any]:
    flag = QueryString('"users"."display_name" = {} AS "named"', name)
    return User.select(*COLUMNS, flag).where(User.id.is_in(ids))


def by_id(rows: list[dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    return {row["id"]: row for row in rows}


async def test_rows_are_those_of_the_piccolo_select_with_each_calls_own_values() -> None:
    organisation = await make_organisation()
    users = [await make_user(Role.agent, organisation) for _ in range(4)]
    reusable = ReusableSelect(User, with_flag)
    missing = uuid.uuid4()

    for ids, name in (
        ([users[0].id], users[0].display_name),
        ([users[1].id, users[2].id, missing], users[2].display_name),
        ([users[3].id], users[0].display_name),  # same shape as the first call
    ):
        expected = await with_flag(ids, name)
        found = await reusable.run(ids=ids, name=name)

        assert by_id(found) == by_id(expected)
        assert {row["id"] for row in found} == {user.id for user in users} & set(ids)
        assert [row["id"] for row in found if row["named"]] == [
            user.id for user in users if user.id in ids and user.display_name == name
        ]
        assert all(isinstance(row["id"], uuid.UUID) for row in found)


async def test_each_shape_is_composed_once_and_the_oldest_dropped_past_the_bound() -> None:
    users = [await make_user(Role.customer) for _ in range(3)]
    composed: list[int] = []

    def counted(ids: Any) -> Select[Any]:
        composed.append(len(ids))
        return by_ids(ids)

    reusable = ReusableSelect(User, counted, max_shapes=2)
    for count in (1, 2, 1, 2, 3, 1):
        rows = await reusable.run(ids=[user.id for user in users[:count]])
        assert len(rows) == count

    # 1 and 2 composed once each; 3 evicted 1 (least recently used), so 1 is composed again.
    assert composed == [1, 2, 3, 1]


async def test_a_composed_query_binding_anything_but_its_parameters_is_refused() -> None:
    user = await make_user(Role.agent)
    role = Role.agent.value
    # A value read from outside the parameters would be baked into the shared template.
    reusable = ReusableSelect(
        User, lambda ids: User.select(User.id).where(User.id.is_in(ids), User.role == role)
    )

    with pytest.raises(TypeError, match="binds only its parameters"):
        await reusable.run(ids=[user.id])


class Colour(enum.Enum):
    red = "red"


@pytest.mark.parametrize("value", [None, Colour.red, b"bytes"])
async def test_a_value_that_cannot_be_bound_as_it_is_is_refused(value: object) -> None:
    # Piccolo would have composed None as IS NULL and an Enum as its value; bound as they
    # are they would match nothing, or the wrong thing.
    single = ReusableSelect(User, lambda name: User.select(User.id).where(User.email == name))
    listed = ReusableSelect(User, by_ids)

    with pytest.raises(TypeError, match="cannot bind"):
        await single.run(name=value)
    with pytest.raises(TypeError, match="cannot bind"):
        await listed.run(ids=[uuid.uuid4(), value])


async def test_braces_in_values_stay_values_and_braces_in_the_sql_text_are_refused() -> None:
    user = await make_user(Role.customer, display_name="{} {0} {{name}}")
    by_name = ReusableSelect(
        User, lambda name: User.select(User.id).where(User.display_name == name)
    )
    # Piccolo's templates would bind the value after an escaped brace in the wrong place.
    braces = QueryString("'{{literal}}' AS \"braces\"")
    with_braces = ReusableSelect(
        User, lambda name: User.select(User.id, braces).where(User.display_name == name)
    )

    assert await by_name.run(name="{} {0} {{name}}") == [{"id": user.id}]
    with pytest.raises(ValueError, match="cannot contain braces"):
        await with_braces.run(name="{} {0} {{name}}")


async def test_the_products_users_queries_read_every_column_as_piccolo_did() -> None:
    """The users queries behind every request, column for column (timestamps, sealed
    contact bytes, choices, booleans, the ASSIGNED flag) against the Piccolo selects they
    replaced, on this run's backend."""
    organisation = await make_organisation()
    agent = await make_user(Role.agent, organisation)
    customers = [await make_user(Role.customer, organisation) for _ in range(3)]
    ticket = await make_ticket(customers[0])
    await Ticket.update({Ticket.assignee: agent.id}).where(Ticket.id == ticket.id)
    ids = [customer.id for customer in customers] + [uuid.uuid4()]
    flag = assigned_requester_column(principal_of(agent))
    assert flag is not None

    plain = await User.select(*_USER_COLUMNS).where(User.id.is_in(ids))
    flagged = await User.select(*_USER_COLUMNS, flag).where(User.id.is_in(ids))
    records = await users_with_sealed_contact_by_ids(ids)
    flagged_records, assigned = await users_with_sealed_contact_and_flag(ids, flag, ASSIGNED_FLAG)

    expected = {row["id"]: row for row in plain}
    assert set(records) == set(expected) == {customer.id for customer in customers}
    for user_id, record in records.items():
        assert record == type(record).with_sealed_contact(expected[user_id])
        assert flagged_records[user_id] == record
    assert assigned == {row["id"] for row in flagged if row[ASSIGNED_FLAG]} == {customers[0].id}


async def test_a_limit_is_bound_so_every_page_size_shares_one_template() -> None:
    users = [await make_user(Role.customer) for _ in range(4)]
    ids = [user.id for user in users]
    composed: list[int] = []

    def ordered(ids: Any) -> Select[Any]:
        composed.append(len(ids))
        return User.select(User.id).where(User.id.is_in(ids)).order_by(User.id)

    reusable = ReusableSelect(User, ordered)

    pages = {size: await reusable.run(ids=ids, limit=size) for size in (0, 1, 3, 9)}

    assert {size: [row["id"] for row in rows] for size, rows in pages.items()} == {
        size: sorted(ids)[:size] for size in (0, 1, 3, 9)
    }
    assert composed == [4]


@pytest.mark.parametrize("limit", [-1, 2.0, True, "3"])
async def test_a_limit_that_is_not_a_whole_number_is_refused(limit: Any) -> None:
    reusable = ReusableSelect(User, by_ids)

    with pytest.raises(ValueError, match="limit must be a whole number"):
        await reusable.run(ids=[uuid.uuid4()], limit=limit)
