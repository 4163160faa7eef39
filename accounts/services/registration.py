"""Self-registration of customers (off unless OPENDESK_REGISTRATION_ENABLED).

The answer is the same whether or not the address is taken (no existence oracle): a
taken address gets an email telling its owner, a new one gets an account in a new
organisation. The work runs in the background so timing does not tell either.
"""

from __future__ import annotations

import asyncio

from accounts.emails import normalise_email
from accounts.mailer import Message
from accounts.services.contact import user_id_for_email
from accounts.services.credentials import hash_new_password
from accounts.services.identity import Identity
from accounts.services.users import create_organisation, create_user
from accounts.tables import Organisation
from core.errors import BadUserInput, Forbidden
from core.text import clean_text
from permissions.roles import Role

_registrations: set[asyncio.Task[None]] = set()


async def register(
    identity: Identity, *, email: str, display_name: str, organisation_name: str, password: str
) -> None:
    """Validate everything the caller can fix (raising BadUserInput), then register in the
    background. Raises Forbidden when registration is closed."""
    if not identity.config.registration_enabled:
        raise Forbidden("Registration is closed.")
    normalised = normalise_email(email, field="email")
    name = clean_text(display_name, field="displayName", max_length=120)
    organisation = clean_text(organisation_name, field="organisationName", max_length=200)
    password_hash = await hash_new_password(
        password,
        hasher=identity.hasher,
        has_mfa=False,
        user_inputs=(normalised, name),
        policy=identity.config.password_policy,
    )
    task = asyncio.create_task(_complete(identity, normalised, name, organisation, password_hash))
    _registrations.add(task)
    task.add_done_callback(_registrations.discard)


async def _complete(
    identity: Identity, email: str, name: str, organisation_name: str, password_hash: str
) -> None:
    if await user_id_for_email(email) is not None:
        await identity.mailer.send(
            Message(
                to=email,
                subject="Someone tried to register with your address",
                body="An OpenDesk account already uses this address. If this was you, sign in "
                "or reset your password; otherwise you can ignore this message.",
            )
        )
        return
    async with Organisation._meta.db.transaction():
        organisation = await create_organisation(organisation_name)
        try:
            await create_user(
                email=email,
                display_name=name,
                role=Role.customer,
                password_hash=password_hash,
                organisation_id=organisation.id,
            )
        except BadUserInput:
            # Lost a race with another registration of the same address: undo the org.
            await Organisation.delete().where(Organisation.id == organisation.id)
