"""What each ``opendesk`` sub-command does, separate from argument parsing."""

from __future__ import annotations

import uuid
from pathlib import Path

from api.demo_seed import seed_demo
from api.keys import load_app_keyring
from api.migrate import MigrationFailed, migrate
from api.resources import Resources
from api.settings import Settings
from core.errors import BadUserInput
from permissions.roles import Role
from privacy.crypto import generate_development_keyring


class CommandError(Exception):
    """A command could not do its job; the message is printed as one line."""


def init_key_file(path: Path) -> int:
    if path.exists():
        raise CommandError(f"{path} exists; refusing to overwrite keys")
    generate_development_keyring(path)
    print(f"wrote a new key file to {path} (mode 0600); back it up apart from the data")
    return 0


def serve(settings: Settings, *, demo: bool) -> int:
    import asyncio

    import uvicorn

    # Fail fast, with one line, before any worker starts: keys must be usable.
    load_app_keyring(settings)
    if demo:
        if settings.is_production:
            raise CommandError("--demo is for development only")
        asyncio.run(migrate_command(settings))
        asyncio.run(seed_demo_command(settings))
    uvicorn.run(
        "api.asgi:create_app_from_environment",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        server_header=False,
        proxy_headers=False,  # the app resolves client IPs itself, from trusted proxies only
        timeout_keep_alive=5,
        timeout_graceful_shutdown=10,
        h11_max_incomplete_event_size=16 * 1024,
        log_level="warning",
        access_log=False,
    )
    return 0


async def migrate_command(settings: Settings) -> int:
    try:
        report = await migrate(settings)
    except MigrationFailed as error:
        raise CommandError(f"migration failed: {error}") from None
    print(report.strip() or "migrations: nothing to do")
    return 0


async def seed_demo_command(settings: Settings) -> int:
    if settings.is_production:
        raise CommandError("demo data is for development only")
    resources = Resources.from_settings(settings)
    await resources.open()
    try:
        credentials_path = await seed_demo(settings)
    finally:
        await resources.close()
    print(f"demo data ready; demo credentials are in {credentials_path}")
    return 0


async def create_user_command(
    settings: Settings,
    *,
    email: str,
    role: str,
    display_name: str | None,
    organisation: str | None,
    password: str,
) -> int:
    from accounts.services.credentials import hash_new_password
    from accounts.services.users import create_user

    resources = Resources.from_settings(settings)
    await resources.open()
    try:
        organisation_id = _parse_uuid(organisation) if organisation else None
        name = display_name or email.split("@", 1)[0]
        password_hash = await hash_new_password(password, has_mfa=False, user_inputs=(email, name))
        user = await create_user(
            email=email,
            display_name=name,
            role=Role(role),
            password_hash=password_hash,
            organisation_id=organisation_id,
        )
    except BadUserInput as error:
        field = error.extensions.get("field")
        raise CommandError(f"{field}: {error.message}" if field else error.message) from None
    finally:
        await resources.close()
    print(f"created user {user.id} ({user.role.value})")
    return 0


def _parse_uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise CommandError("--organisation must be an organisation id (UUID)") from None
