"""The ``opendesk`` command. Settings are validated first; a bad one is one line, exit 2."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from api.settings import Settings, SettingsError, load_settings
from privacy.crypto import KeyringError

EXIT_BAD_SETTINGS = 2
EXIT_FAILED = 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="opendesk", description="OpenDesk API")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the API")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int)
    serve.add_argument(
        "--demo", action="store_true", help="development only: migrate and seed demo data first"
    )
    serve.add_argument("--certfile", type=Path, help="PEM certificate: serve HTTPS")
    serve.add_argument("--keyfile", type=Path, help="PEM private key for --certfile")

    commands.add_parser("dev-cert", help="development: a self-signed pair under var/ (0600 key)")

    observatory = commands.add_parser(
        "observatory", help="score URLs' response headers as Mozilla's HTTP Observatory does"
    )
    observatory.add_argument("urls", nargs="+", metavar="URL")
    observatory.add_argument("--cafile", help="PEM CA bundle to trust (e.g. the dev-cert)")
    observatory.add_argument(
        "--http-url", help="where to test the HTTP->HTTPS redirect (default: http:// port 80)"
    )

    schema = commands.add_parser("schema", help="the committed schema.graphql snapshot")
    schema_commands = schema.add_subparsers(dest="schema_command", required=True)
    schema_commands.add_parser("check", help="fail on breaking changes against schema.graphql")
    schema_commands.add_parser("snapshot", help="write schema.graphql from the served schema")

    commands.add_parser("migrate", help="apply pending database migrations (idempotent)")

    database = commands.add_parser("db", help="PostgreSQL access control")
    database_commands = database.add_subparsers(dest="db_command", required=True)
    roles = database_commands.add_parser(
        "roles", help="print (or --apply) the owner/app role SQL; PostgreSQL only"
    )
    roles.add_argument("--owner", default="opendesk_owner", help="owns the schema, migrates")
    roles.add_argument("--app", default="opendesk_app", help="the API's role: rows only")
    roles.add_argument("--apply", action="store_true", help="run it on the configured database")
    roles.add_argument("--owner-password-file", type=Path, help="with --apply: set its password")
    roles.add_argument("--app-password-file", type=Path, help="with --apply: set its password")

    seed = commands.add_parser("seed", help="load data")
    seed.add_argument("--demo", action="store_true", required=True, help="demo data (development)")

    keys = commands.add_parser("keys", help="manage encryption keys")
    keys_commands = keys.add_subparsers(dest="keys_command", required=True)
    init = keys_commands.add_parser("init", help="write a new key file (0600); never overwrites")
    init.add_argument("--file", required=True, type=Path)
    keys_commands.add_parser("status", help="which key versions the stored data uses")
    rotate = keys_commands.add_parser(
        "rotate", help="new key version(s), data moved in resumable batches while serving"
    )
    rotate.add_argument("--family", choices=["kek", "blind_index", "all"], default="all")

    operations = commands.add_parser("operations", help="the persisted-operation allowlist")
    operations_commands = operations.add_subparsers(dest="operations_command", required=True)
    imported = operations_commands.add_parser(
        "import", help="allowlist an Apollo persisted-query manifest (JSON)"
    )
    imported.add_argument("manifest", type=Path)
    imported.add_argument(
        "--audience",
        action="append",
        required=True,
        help="anonymous, role:<role>, partner or partner:<key id>; repeatable",
    )
    operations_commands.add_parser("list", help="print the allowlist")
    revoked = operations_commands.add_parser("revoke", help="remove one operation by SHA-256")
    revoked.add_argument("sha256")

    policy = commands.add_parser("policy", help="the field policy")
    policy_commands = policy.add_subparsers(dest="policy_command", required=True)
    show = policy_commands.add_parser("show", help="print role x field → full/masked/denied")
    show.add_argument("--markdown", action="store_true", help="as a Markdown table")

    audit = commands.add_parser("audit", help="the audit trail")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    audit_commands.add_parser("verify", help="check every link of the hash chain")

    consent = commands.add_parser("consent", help="consent purposes and their texts")
    consent_commands = consent.add_subparsers(dest="consent_command", required=True)
    publish = consent_commands.add_parser(
        "publish", help="publish a purpose's text as its next version (if it changed)"
    )
    publish.add_argument("--purpose", required=True, help="key, e.g. marketing_email")
    publish.add_argument("--text-file", required=True, type=Path, help="UTF-8 text file")

    privacy = commands.add_parser("privacy", help="personal data: inventory, requests")
    privacy_commands = privacy.add_subparsers(dest="privacy_command", required=True)
    privacy_commands.add_parser("inventory", help="print the record of processing (Markdown)")
    export = privacy_commands.add_parser("export", help="write a user's data export (ZIP)")
    export.add_argument("--user", required=True, help="user id")
    export.add_argument("--out", required=True, type=Path, help="new file (mode 0600)")
    erase = privacy_commands.add_parser("erase", help="erase a user now (finishes a half-done one)")
    erase.add_argument("--user", required=True, help="user id")
    erase.add_argument("--yes", action="store_true", help="confirm: erasure cannot be undone")
    privacy_commands.add_parser("run", help="run due export/erasure requests once")
    ledger = privacy_commands.add_parser("ledger", help="write the erasure ledger (JSON lines)")
    ledger.add_argument("--out", required=True, type=Path, help="new file (mode 0600)")
    reapply = privacy_commands.add_parser(
        "reapply", help="after a restore: erase again every subject in a ledger file"
    )
    reapply.add_argument("--ledger", required=True, type=Path)

    retention = commands.add_parser("retention", help="retention rules from the inventory")
    retention_commands = retention.add_subparsers(dest="retention_command", required=True)
    retention_commands.add_parser(
        "run", help="delete or anonymise rows past their period (batches; one runner at a time)"
    )

    users = commands.add_parser("users", help="manage users")
    users_commands = users.add_subparsers(dest="users_command", required=True)
    create = users_commands.add_parser("create", help="create a user; password read from stdin")
    create.add_argument("--email", required=True)
    create.add_argument("--role", required=True, choices=["customer", "agent", "admin", "auditor"])
    create.add_argument("--name", help="display name (default: the email's local part)")
    create.add_argument("--organisation", help="organisation id (required for customers)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    if arguments.command == "observatory":  # reads no settings: it only fetches URLs
        from api.commands import CommandError
        from api.observatory.scan import observatory_command

        try:
            return observatory_command(
                arguments.urls, cafile=arguments.cafile, http_url=arguments.http_url
            )
        except CommandError as error:
            print(f"opendesk: {error}", file=sys.stderr)
            return EXIT_FAILED
    overrides: dict[str, object] = {}
    if arguments.command == "serve":
        for name in ("host", "port", "workers"):
            value = getattr(arguments, name)
            if value is not None:
                overrides[name] = value
    try:
        settings = load_settings(**overrides)
    except SettingsError as error:
        print(f"opendesk: configuration error: {error}", file=sys.stderr)
        return EXIT_BAD_SETTINGS
    from api import commands

    try:
        if arguments.command == "keys" and arguments.keys_command == "init":
            return commands.init_key_file(arguments.file)
        if arguments.command == "audit" and arguments.audit_command == "verify":
            return asyncio.run(commands.verify_audit_command(settings))
        if arguments.command == "keys" and arguments.keys_command == "status":
            return asyncio.run(commands.key_status_command(settings))
        if arguments.command == "keys" and arguments.keys_command == "rotate":
            return asyncio.run(commands.rotate_keys_command(settings, arguments.family))
        if arguments.command == "serve":
            return commands.serve(
                settings,
                demo=arguments.demo,
                certfile=arguments.certfile,
                keyfile=arguments.keyfile,
            )
        if arguments.command == "dev-cert":
            return commands.dev_cert(settings)
        if arguments.command == "schema":
            return commands.schema_check(write=arguments.schema_command == "snapshot")
        if arguments.command == "policy" and arguments.policy_command == "show":
            return commands.show_policy(markdown=arguments.markdown)
        if arguments.command == "db" and arguments.db_command == "roles":
            from api.db_commands import roles_command

            return asyncio.run(
                roles_command(
                    settings,
                    owner=arguments.owner,
                    app=arguments.app,
                    apply=arguments.apply,
                    password_files={
                        arguments.owner: arguments.owner_password_file,
                        arguments.app: arguments.app_password_file,
                    },
                )
            )
        if arguments.command == "migrate":
            return asyncio.run(commands.migrate_command(settings))
        if arguments.command == "seed":
            return asyncio.run(commands.seed_demo_command(settings))
        if arguments.command == "consent" and arguments.consent_command == "publish":
            return commands.publish_consent_text_command(
                settings, purpose=arguments.purpose, text_file=arguments.text_file
            )
        if arguments.command == "privacy":
            return _privacy(settings, arguments)
        if arguments.command == "operations":
            return _operations(settings, arguments)
        if arguments.command == "retention" and arguments.retention_command == "run":
            from api.privacy_commands import retention_command

            return asyncio.run(retention_command(settings))
        if arguments.command == "users" and arguments.users_command == "create":
            password = sys.stdin.readline().rstrip("\r\n")
            return asyncio.run(
                commands.create_user_command(
                    settings,
                    email=arguments.email,
                    role=arguments.role,
                    display_name=arguments.name,
                    organisation=arguments.organisation,
                    password=password,
                )
            )
    except KeyringError as error:
        print(f"opendesk: key error: {error}", file=sys.stderr)
        return EXIT_BAD_SETTINGS
    except commands.CommandError as error:
        print(f"opendesk: {error}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_FAILED  # pragma: no cover - argparse requires a known command


def _operations(settings: Settings, arguments: argparse.Namespace) -> int:
    from api import operations_commands

    match arguments.operations_command:
        case "import":
            return asyncio.run(
                operations_commands.import_command(
                    settings, manifest=arguments.manifest, audiences=arguments.audience
                )
            )
        case "list":
            return asyncio.run(operations_commands.list_command(settings))
        case "revoke":
            return asyncio.run(
                operations_commands.revoke_command(settings, sha256=arguments.sha256)
            )
    raise AssertionError(arguments.operations_command)


def _privacy(settings: Settings, arguments: argparse.Namespace) -> int:
    from api import privacy_commands

    match arguments.privacy_command:
        case "inventory":
            return privacy_commands.inventory_command()
        case "export":
            return privacy_commands.export_command(settings, user=arguments.user, out=arguments.out)
        case "erase":
            return asyncio.run(
                privacy_commands.erase_command(
                    settings, user=arguments.user, confirmed=arguments.yes
                )
            )
        case "run":
            return asyncio.run(privacy_commands.run_command(settings))
        case "ledger":
            return privacy_commands.ledger_command(settings, out=arguments.out)
        case "reapply":
            return privacy_commands.reapply_command(settings, ledger=arguments.ledger)
    raise AssertionError(arguments.privacy_command)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
