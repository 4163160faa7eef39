"""Migrate and seed a fresh benchmark database through the product's own services.

Run as ``python -m bench.seed`` with ``OPENDESK_DATABASE_URL`` pointing at an empty
database; prints one JSON line: the agent the benchmark acts as, and the row counts.
Rows are made by the same services the API uses (no hand-inserted rows), so the data
has the shape the product itself writes. The tickets page, under an operation name of
its own (bench.documents.TICKETS_PERSISTED), is allowlisted as a persisted operation
(``operations.allowlist.register``, an audited change like an operator's) for the
agent's audience, so it can be sent by id.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
from dataclasses import dataclass

from accounts.services.users import create_organisation, create_user
from api.identity_setup import password_hasher_for
from api.migrate import migrate
from api.resources import Resources
from api.settings import load_settings
from audit.trail import Actor
from bench.documents import TICKETS_PERSISTED
from desk.services.comments import add_comment
from desk.services.tickets import create_ticket
from operations.allowlist import register
from operations.audiences import audiences_of
from permissions.principal import Principal, user_principal
from permissions.roles import Role


@dataclass(frozen=True, slots=True)
class SeedShape:
    requesters: int = 10
    tickets: int = 60
    comments_per_ticket: int = 5
    # Customers with a password, in an organisation of their own (no tickets): the
    # login scenarios sign them in for real. Several, so that a stream of correct logins
    # stays under the per-account lockout threshold (50 attempts per 15 minutes).
    login_users: int = 20


async def seed(shape: SeedShape) -> dict[str, object]:
    """One organisation, ``requesters`` customers, one agent, tickets with comments."""
    organisation = await create_organisation("Benchmark Customer Ltd")
    customers = [
        await create_user(
            email=f"customer{index}@bench.opendesk.example",
            display_name=f"Customer {index}",
            role=Role.customer,
            password_hash=None,
            organisation_id=organisation.id,
        )
        for index in range(shape.requesters)
    ]
    agent = await create_user(
        email="agent@bench.opendesk.example",
        display_name="Bench Agent",
        role=Role.agent,
        password_hash=None,
    )
    agent_principal = user_principal(agent.id, Role.agent, None)
    for number in range(shape.tickets):
        customer = customers[number % len(customers)]
        customer_principal = user_principal(customer.id, Role.customer, organisation.id)
        ticket = await create_ticket(
            customer_principal,
            subject=f"Benchmark ticket {number}: the printer on floor {number % 7} is jammed",
            body="Steps to reproduce: print anything. " * 8,
        )
        for index in range(shape.comments_per_ticket):
            author = agent_principal if index % 2 else customer_principal
            await add_comment(author, ticket.id, body=f"Comment {index} on ticket {number}. " * 4)
    login_users = await seed_login_users(shape.login_users)
    return {
        "agent": {"user_id": str(agent.id), "role": agent.role.value},
        "persisted_operations": await seed_persisted_operations(agent_principal),
        "login_users": login_users,
        "organisations": 2,
        "users": shape.requesters + 1 + shape.login_users,
        "tickets": shape.tickets,
        "comments": shape.tickets * shape.comments_per_ticket,
    }


async def seed_login_users(count: int) -> dict[str, object]:
    """``count`` customers sharing one fresh random password, hashed once with the
    product's hasher at the settings' argon2 parameters (the defaults in a bench run),
    so each login verifies exactly what a real account's would."""
    password = secrets.token_urlsafe(18)
    hasher = password_hasher_for(load_settings())
    try:
        password_hash = await hasher.hash(password)
    finally:
        hasher.close()
    organisation = await create_organisation("Benchmark Login Ltd")
    emails = [f"login{index}@bench.opendesk.example" for index in range(count)]
    for index, email in enumerate(emails):
        await create_user(
            email=email,
            display_name=f"Login User {index}",
            role=Role.customer,
            password_hash=password_hash,
            organisation_id=organisation.id,
        )
    return {
        "emails": emails,
        "password": password,
        "hash_parameters": password_hash.rsplit("$", 2)[0],
    }


async def seed_persisted_operations(principal: Principal) -> list[dict[str, object]]:
    """The persisted tickets document on the allowlist for the audiences ``principal``
    belongs to (the bench agent's: ``role:agent``; the id path checks them too)."""
    registration = await register(
        TICKETS_PERSISTED, sorted(audiences_of(principal)), actor=Actor("system"), via="bench"
    )
    operation = registration.operation
    return [
        {
            "name": operation.name,
            "sha256": operation.sha256,
            "audiences": sorted(operation.audiences),
        }
    ]


async def migrate_and_seed(shape: SeedShape) -> dict[str, object]:
    settings = load_settings()
    await migrate(settings)
    resources = Resources.from_settings(settings)
    await resources.open()
    try:
        # One transaction: one connection for every statement (much faster on SQLite,
        # where Piccolo otherwise opens a connection per query), as api.demo_seed does.
        async with resources.engine.transaction():
            return await seed(shape)
    finally:
        await resources.close()


def main() -> int:
    summary = asyncio.run(migrate_and_seed(SeedShape()))
    sys.stdout.write(json.dumps(summary) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
