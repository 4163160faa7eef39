"""Demo data for development: one organisation, one user per role, a few tickets, and
the demo consent purposes.

Passwords are random per installation and written to a 0600 file under ``var/``; the
function is idempotent (a second run finds the demo organisation and changes nothing).
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from accounts.services.credentials import hash_new_password
from accounts.services.users import create_organisation, create_user
from accounts.tables import Organisation
from api.identity_setup import password_hasher_for
from api.settings import Settings
from desk.services.comments import add_comment
from desk.services.tickets import create_ticket
from desk.tables import TicketPriority
from permissions.principal import user_principal
from permissions.roles import Role
from privacy.consent_texts import publish_text

DEMO_ORGANISATION = "Demo Customer Ltd"
DEMO_DOMAIN = "demo.opendesk.example"
CREDENTIALS_FILE = "demo-credentials.json"
_DEMO_USERS = (
    ("customer", "Casey Customer", Role.customer),
    ("agent", "Alex Agent", Role.agent),
    ("admin", "Ada Admin", Role.admin),
    ("auditor", "Aubrey Auditor", Role.auditor),
)
_DEMO_TICKETS = (
    ("Cannot sign in to the portal", "Since this morning the portal rejects my password."),
    ("Invoice address needs changing", "Please update our billing address for next month."),
    ("Feature request: export tickets", "Could we export our ticket history as CSV?"),
)

# Demo purposes; production publishes its own with `opendesk consent publish`.
DEMO_CONSENT_TEXTS = {
    "marketing_email": (
        "Yes, email me news and offers about OpenDesk products. My organisation's "
        "marketing partner receives my name and email address for this purpose only. "
        "I can withdraw this consent at any time in my account settings."
    ),
    "product_research": (
        "Yes, invite me to occasional product research (surveys and interviews) about "
        "OpenDesk. I can withdraw this consent at any time in my account settings."
    ),
}


async def seed_demo(settings: Settings) -> Path:
    """Create the demo data if absent; returns the path of the credentials file.

    Passwords are hashed and the credentials file written before the database
    transaction, so a failure leaves either everything or nothing in the database.
    """
    credentials_path = settings.var_dir / CREDENTIALS_FILE
    # Idempotent on its own (an unchanged text is not published again), so a database
    # seeded before consent existed gets its purposes too.
    for purpose, text in DEMO_CONSENT_TEXTS.items():
        await publish_text(purpose, text, via="seed")
    if await Organisation.exists().where(Organisation.name == DEMO_ORGANISATION):
        return credentials_path
    credentials: dict[str, dict[str, str]] = {}
    password_hashes: dict[Role, str] = {}
    hasher = password_hasher_for(settings)
    for local_part, name, role in _DEMO_USERS:
        email = f"{local_part}@{DEMO_DOMAIN}"
        password = secrets.token_urlsafe(18)
        password_hashes[role] = await hash_new_password(
            password, hasher=hasher, has_mfa=False, user_inputs=(email, name)
        )
        credentials[role.value] = {"email": email, "password": password}
    _write_private_file(credentials_path, json.dumps(credentials, indent=2) + "\n")
    async with Organisation._meta.db.transaction():
        await _create_demo_rows(password_hashes)
    return credentials_path


async def _create_demo_rows(password_hashes: dict[Role, str]) -> None:
    organisation = await create_organisation(DEMO_ORGANISATION)
    users = {}
    for local_part, name, role in _DEMO_USERS:
        users[role] = await create_user(
            email=f"{local_part}@{DEMO_DOMAIN}",
            display_name=name,
            role=role,
            password_hash=password_hashes[role],
            organisation_id=organisation.id if role is Role.customer else None,
        )
    customer_principal = user_principal(users[Role.customer].id, Role.customer, organisation.id)
    agent_principal = user_principal(users[Role.agent].id, Role.agent, None)
    for index, (subject, body) in enumerate(_DEMO_TICKETS):
        priority = TicketPriority.high if index == 0 else TicketPriority.normal
        ticket = await create_ticket(
            customer_principal, subject=subject, body=body, priority=priority
        )
        await add_comment(agent_principal, ticket.id, body="Thanks, we are looking into it.")
        await add_comment(
            agent_principal, ticket.id, body="Checked the logs; no outage.", internal=True
        )


def _write_private_file(path: Path, content: str) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(content)
    os.chmod(path, 0o600)
