"""``ipo-node init``, ``migrate`` and ``token``: making a node and its credentials."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import secrets
import sys
from pathlib import Path

import sqlalchemy as sa
from pydantic import ValidationError

from federation.keys import create_keyring, load_keyring
from node.accounts import service as accounts
from node.accounts.models import Role, UserCreate
from node.accounts.passwords import configure_password_hashing
from node.audit.service import CLI
from node.cli import CommandError, Subcommands, data_dir_argument
from node.cli.errors import NODE_ERRORS
from node.config import CONFIG_FILE, Settings, load_settings, write_config_file
from node.db import create_engine, create_session_maker, engine_for, session_scope
from node.migrate import head_revision, prepare_database

ERRORS = NODE_ERRORS
"""What these commands raise that a person can fix: printed, exit status 2."""


def register(commands: Subcommands) -> None:
    """Add this module's commands to ``ipo-node``."""
    init = commands.add_parser("init", help="create a node: config, key, database, first admin")
    data_dir_argument(init)
    init.add_argument("--name", required=True, help="the organization's name")
    init.add_argument("--url", required=True, help="the node's public base URL (its id)")
    init.add_argument("--ward", type=int, action="append", default=[], help="a ward (repeat)")
    init.add_argument("--kind", choices=["ipo", "union", "coalition"], default="ipo")
    init.add_argument("--admin-email", required=True)
    init.add_argument("--admin-password", help="prompted for (or generated) when omitted")
    init.add_argument("--database-url", help="PostgreSQL URL; SQLite in the data dir if omitted")
    init.add_argument(
        "--allow-private-peers",
        action="store_true",
        help="allow peers on loopback and private addresses (local development only)",
    )
    init.set_defaults(handler=cmd_init)

    migrate = commands.add_parser("migrate", help="upgrade the database to this version")
    data_dir_argument(migrate)
    migrate.set_defaults(handler=cmd_migrate)


def cmd_init(args: argparse.Namespace) -> None:
    data_dir: Path = args.data_dir.resolve()
    _refuse_existing_node(data_dir)
    password = args.admin_password or _ask_or_generate_password()
    try:
        admin = UserCreate(
            email=args.admin_email, role=Role.admin, password=password, display_name="Admin"
        )
    except ValidationError as exc:
        problem = exc.errors()[0]
        raise CommandError(f"bad admin {problem['loc'][0]}: {problem['msg']}") from None
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    values: dict[str, object] = {
        "name": args.name,
        "public_url": args.url,
        "kind": args.kind,
        "wards": args.ward,
        "secret_key": secrets.token_urlsafe(48),
    }
    if args.database_url:
        values["database_url"] = args.database_url
    if args.allow_private_peers:
        values["allow_private_peers"] = True
    # Validate everything before writing anything, so a mistake leaves no half-made node.
    asyncio.run(_refuse_used_database(load_settings(data_dir, **values).database_url))
    write_config_file(data_dir, values)
    create_keyring(data_dir / "keys")
    settings = load_settings(data_dir)
    prepare_database(settings.database_url)
    asyncio.run(_create_first_admin(settings, admin))
    keyring = load_keyring(settings.keys_dir)
    print(f"Created node {settings.name!r} in {data_dir}")
    print(f"  id (public URL): {settings.public_url}")
    print(f"  key fingerprint: {keyring.active.kid}")
    print(f"  admin:           {args.admin_email}")
    if not args.admin_password and not sys.stdin.isatty():
        print(f"  admin password:  {password}   (shown once: store it now)")
    print(f"Start it with: ipo-node serve --data-dir {data_dir}")


def _refuse_existing_node(data_dir: Path) -> None:
    for existing in (CONFIG_FILE, "keys", "node.db"):
        if (data_dir / existing).exists():
            raise CommandError(
                f"{data_dir / existing} already exists; refusing to overwrite this node's "
                "key or database. Use a new --data-dir, or `ipo-node serve` to run this one."
            )


def _ask_or_generate_password() -> str:
    if not sys.stdin.isatty():
        return secrets.token_urlsafe(15)
    while True:
        first = getpass.getpass("Admin password (10+ characters): ")
        if len(first) < 10:
            print("Too short; use at least 10 characters.", file=sys.stderr)
            continue
        if getpass.getpass("Repeat it: ") == first:
            return first
        print("The two did not match; try again.", file=sys.stderr)


async def _refuse_used_database(database_url: str) -> None:
    """A database that already holds accounts belongs to some node: never take it over."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda c: sa.inspect(c).get_table_names())
            if "user_account" in tables:
                used = (await connection.execute(sa.text("SELECT 1 FROM user_account"))).first()
                if used:
                    raise CommandError("the database already has accounts; refusing to reuse it")
    except OSError as exc:
        raise CommandError(f"cannot reach the database: {exc}") from None
    finally:
        await engine.dispose()


async def _create_first_admin(settings: Settings, admin: UserCreate) -> None:
    configure_password_hashing(settings)
    engine = engine_for(settings)
    try:
        async with session_scope(create_session_maker(engine)) as session:
            await accounts.create_user(session, data=admin, actor=CLI)
    finally:
        await engine.dispose()


def cmd_migrate(args: argparse.Namespace) -> None:
    settings = load_settings(args.data_dir)
    prepare_database(settings.database_url)
    print(f"Database is at revision {head_revision()} (head).")
