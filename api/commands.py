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
from desk.attachments import load_scanner
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


def show_policy(*, markdown: bool) -> int:
    from permissions.show import render_markdown, render_text

    print(render_markdown() if markdown else render_text(), end="")
    return 0


def serve(
    settings: Settings,
    *,
    demo: bool,
    certfile: Path | None = None,
    keyfile: Path | None = None,
) -> int:
    import asyncio
    import os

    from api.server import ServerLimits, run_server

    if (certfile is None) != (keyfile is None):
        raise CommandError("--certfile and --keyfile go together")
    for path in (certfile, keyfile):
        if path is not None and not path.is_file():
            raise CommandError(f"{path}: no such file")
    # Fail fast, with one line, before any worker starts: keys must be usable, and a
    # configured attachment scanner must load.
    load_app_keyring(settings)
    try:
        load_scanner(settings.attachment_scanner)
    except ValueError as error:
        raise CommandError(f"OPENDESK_ATTACHMENT_SCANNER: {error}") from None
    if demo:
        if settings.is_production:
            raise CommandError("--demo is for development only")
        asyncio.run(migrate_command(settings))
        asyncio.run(seed_demo_command(settings))
    # Workers build their Settings from the environment: hand them the command-line
    # values (bind address for the Host allowlist; TLS for Secure cookies and HSTS).
    os.environ["OPENDESK_HOST"] = settings.host
    os.environ["OPENDESK_PORT"] = str(settings.port)
    os.environ["OPENDESK_WORKERS"] = str(settings.workers)
    if certfile is not None:
        os.environ["OPENDESK_TLS"] = "true"
    run_server(
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        limits=ServerLimits(request_read_timeout=settings.request_read_timeout_seconds),
        certfile=certfile,
        keyfile=keyfile,
    )
    return 0


def dev_cert(settings: Settings) -> int:
    from api.dev_cert import write_dev_cert

    if settings.is_production:
        raise CommandError("dev-cert is for development only")
    try:
        certfile, keyfile = write_dev_cert(settings.var_dir)
    except FileExistsError as error:
        raise CommandError(f"{error.args[0]} exists; refusing to overwrite") from None
    print(f"wrote {certfile} and {keyfile} (0600); serve with")
    print(f"  opendesk serve --certfile {certfile} --keyfile {keyfile}")
    return 0


def schema_check(*, write: bool) -> int:
    from api.schema_snapshot import INTENTIONAL, SNAPSHOT, check_schema, current_sdl

    served = current_sdl()
    if write:
        SNAPSHOT.write_text(served)
        print(f"wrote {SNAPSHOT}")
        return 0
    if not SNAPSHOT.is_file():
        raise CommandError(f"{SNAPSHOT} is missing; run `opendesk schema snapshot`")
    intentional = INTENTIONAL.read_text() if INTENTIONAL.is_file() else ""
    result = check_schema(SNAPSHOT.read_text(), served, intentional)
    for line in result.breaking:
        marker = "  (intentional)" if line not in result.unexplained else ""
        print(f"breaking: {line}{marker}")
    if not result.ok:
        raise CommandError(
            f"{len(result.unexplained)} breaking change(s); deprecate first, or list them in "
            f"{INTENTIONAL}"
        )
    if not result.snapshot_current:
        print(f"compatible changes: run `opendesk schema snapshot` and commit {SNAPSHOT}")
    else:
        print(f"{SNAPSHOT} matches the served schema")
    return 0


async def verify_audit_command(settings: Settings) -> int:
    from audit.trail import verify_trail

    resources = Resources.from_settings(settings)
    await resources.open()
    try:
        result = await verify_trail()
    finally:
        await resources.close()
    if not result.intact:
        raise CommandError(
            f"audit trail broken at entry {result.first_broken_id} "
            f"(after {result.entries} intact entries)"
        )
    print(f"audit trail intact: {result.entries} entries")
    return 0


async def key_status_command(settings: Settings) -> int:
    from api.key_rotation import key_status

    resources = Resources.from_settings(settings)
    await resources.open()
    try:
        status = await key_status()
    finally:
        await resources.close()
    print("\n".join(status.lines()))
    return 0


async def rotate_keys_command(settings: Settings, family: str) -> int:
    from api.key_rotation import rotate
    from api.keys import key_file_path
    from privacy.crypto import KeyFamily

    families = (KeyFamily.KEK, KeyFamily.BLIND_INDEX) if family == "all" else (KeyFamily(family),)
    resources = Resources.from_settings(settings)
    await resources.open()
    try:
        rotated, moved = await rotate(
            key_file_path(settings),
            families,
            batch_size=settings.key_rotation_batch_size,
            pause_seconds=settings.key_rotation_pause_seconds,
        )
    finally:
        await resources.close()
    if rotated:
        print(f"rotated {', '.join(f.value for f in families)}; moved {moved} rows to the new keys")
    else:
        print(f"finished an interrupted rotation: moved {moved} rows; run again to rotate")
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


def publish_consent_text_command(settings: Settings, *, purpose: str, text_file: Path) -> int:
    import asyncio

    try:
        text = text_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CommandError(f"{text_file}: cannot read it as UTF-8 text ({error})") from None
    return asyncio.run(_publish_consent_text(settings, purpose, text))


async def _publish_consent_text(settings: Settings, purpose: str, text: str) -> int:
    from privacy.consent_texts import publish_text

    resources = Resources.from_settings(settings)
    await resources.open()
    try:
        published = await publish_text(purpose, text, via="cli")
    except BadUserInput as error:
        raise CommandError(f"{error.extensions.get('field')}: {error.message}") from None
    finally:
        await resources.close()
    print(f"{published.purpose} version {published.version} (sha256 {published.text_sha256})")
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
        password_hash = await hash_new_password(
            password,
            hasher=resources.identity.hasher,
            has_mfa=False,
            user_inputs=(email, name),
        )
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
