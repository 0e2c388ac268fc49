"""The ``ipo-node`` command.

    ipo-node init     --data-dir DIR --name NAME --url URL --admin-email EMAIL [...]
    ipo-node serve    --data-dir DIR [--host H] [--port P]
    ipo-node migrate  --data-dir DIR
    ipo-node token    --data-dir DIR --email EMAIL
    ipo-node worker   --data-dir DIR
    ipo-node ally     --data-dir DIR URL [--scope S ...] [--message TEXT]
    ipo-node allies   --data-dir DIR [accept|reject|suspend|resume|end PEER]
    ipo-node deliveries --data-dir DIR [--retry [PEER]]
    ipo-node rotate-key --data-dir DIR [--grace-days N]
    ipo-node demo     [--data-dir DIR] [--port BASE] [--once]
    ipo-node verify   BUNDLE.json
    ipo-node backup   --data-dir DIR OUT
    ipo-node restore  --data-dir NEW_DIR [--database-url URL] BACKUP
    ipo-node partners --data-dir DIR add|list|revoke ...

Every command that reads a node's configuration takes ``--data-dir`` (or ``IPO_DATA_DIR``).
Errors a person can fix are printed as one plain sentence and exit with status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import os
import secrets
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from federation.errors import FederationError
from federation.keys import KeyringError, create_keyring, load_keyring, rotate_keyring
from federation.policies import ALL_SCOPES
from federation.rotation import announce_rotation
from federation.runtime import FederationRuntime
from node.accounts import service as accounts
from node.accounts.models import Role, UserCreate
from node.accounts.passwords import configure_password_hashing
from node.alliances import service as alliances
from node.alliances.models import AlliancePublic
from node.audit.service import CLI, record
from node.backup import BackupError, backup, restore
from node.config import CONFIG_FILE, ConfigError, Settings, load_settings, write_config_file
from node.db import create_engine, create_session_maker, engine_for, session_scope
from node.demo import DemoError, run_demo
from node.endorsements import bundle as endorsement_bundle
from node.errors import NodeError
from node.federation_setup import start_federation
from node.migrate import DatabaseTooNew, DatabaseUnreachable, head_revision, prepare_database
from node.ops.logging import configure_logging
from node.partners import cli as partners_cli
from node.server import run_server


class CommandError(Exception):
    """A problem the person running the command can fix; printed without a traceback."""


def _data_dir_argument(parser: argparse.ArgumentParser, *, default: str | None = None) -> None:
    parser.add_argument(
        "--data-dir",
        default=default or os.environ.get("IPO_DATA_DIR"),
        required=default is None and not os.environ.get("IPO_DATA_DIR"),
        type=Path,
        help="the node's data directory (config, keys, SQLite database); or set IPO_DATA_DIR",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ipo-node", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    init = commands.add_parser("init", help="create a node: config, key, database, first admin")
    _data_dir_argument(init)
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

    serve = commands.add_parser("serve", help="run the web app (with the delivery worker)")
    _data_dir_argument(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)

    migrate = commands.add_parser("migrate", help="upgrade the database to this version")
    _data_dir_argument(migrate)

    token = commands.add_parser("token", help="print a new bearer token for a user")
    _data_dir_argument(token)
    token.add_argument("--email", required=True)
    token.add_argument("--name", default="cli", help="a label to recognise the token by")

    worker = commands.add_parser("worker", help="run the delivery worker alone (production)")
    _data_dir_argument(worker)

    ally = commands.add_parser("ally", help="offer an alliance to another node")
    _data_dir_argument(ally)
    ally.add_argument("url", help="the other node's public base URL")
    ally.add_argument(
        "--scope",
        action="append",
        choices=list(ALL_SCOPES),
        help="what this node will share (repeat; default: all)",
    )
    ally.add_argument("--message", help="a note for the other node's admin")

    allies = commands.add_parser("allies", help="list peers, or answer or change an alliance")
    _data_dir_argument(allies)
    allies.add_argument("action", nargs="?", choices=sorted(alliances.ACTIONS))
    allies.add_argument("peer", nargs="?", help="the peer's id (from the list) or its URL")

    deliveries = commands.add_parser("deliveries", help="per-peer delivery health")
    _data_dir_argument(deliveries)
    deliveries.add_argument(
        "--retry", nargs="?", const="", metavar="PEER", help="send again now (one peer or all)"
    )

    rotate = commands.add_parser("rotate-key", help="replace the node's signing key")
    _data_dir_argument(rotate)
    rotate.add_argument("--grace-days", type=int, default=7, help="how long the old key works")

    backup_ = commands.add_parser("backup", help="write a backup: database, config and keys")
    _data_dir_argument(backup_)
    backup_.add_argument("out", type=Path, help="the archive to write, or a directory for it")

    restore_ = commands.add_parser("restore", help="recreate a node from a backup")
    _data_dir_argument(restore_)
    restore_.add_argument("backup", type=Path, help="the archive `ipo-node backup` wrote")
    restore_.add_argument("--database-url", help="an empty database to restore into")

    verify = commands.add_parser("verify", help="check an endorsement bundle offline")
    verify.add_argument("bundle", type=Path, help="GET /api/v1/endorsements/ID/bundle")

    partners = commands.add_parser("partners", help="add, list or revoke partner API clients")
    _data_dir_argument(partners)
    partners_cli.add_arguments(partners)

    demo = commands.add_parser("demo", help="run the six-node northwest-side coalition locally")
    _data_dir_argument(demo, default=".demo")
    demo.add_argument(
        "--port", type=int, default=8000, help="the first of six ports (default 8000..8005)"
    )
    demo.add_argument(
        "--once", action="store_true", help="run the story, print a summary, stop, and exit"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handlers = {
        "init": cmd_init,
        "serve": cmd_serve,
        "migrate": cmd_migrate,
        "token": cmd_token,
        "worker": cmd_worker,
        "ally": cmd_ally,
        "allies": cmd_allies,
        "deliveries": cmd_deliveries,
        "rotate-key": cmd_rotate_key,
        "demo": cmd_demo,
        "verify": cmd_verify,
        "backup": cmd_backup,
        "restore": cmd_restore,
        "partners": partners_cli.cmd_partners,
    }
    try:
        handlers[args.command](args)
    except (
        CommandError,
        ConfigError,
        KeyringError,
        DatabaseTooNew,
        DatabaseUnreachable,
        NodeError,
        FederationError,
        BackupError,
        endorsement_bundle.BundleError,
    ) as exc:
        print(f"ipo-node {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


# ---- init -----------------------------------------------------------------------------------


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


# ---- database -------------------------------------------------------------------------------


def cmd_migrate(args: argparse.Namespace) -> None:
    settings = load_settings(args.data_dir)
    prepare_database(settings.database_url)
    print(f"Database is at revision {head_revision()} (head).")


# ---- serve ----------------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> None:
    settings = load_settings(args.data_dir)
    load_keyring(settings.keys_dir)  # fail before binding a port if the keys are unusable
    prepare_database(settings.database_url)
    run_server(settings, host=args.host, port=args.port)


# ---- token ----------------------------------------------------------------------------------


def cmd_token(args: argparse.Namespace) -> None:
    settings = load_settings(args.data_dir)
    print(asyncio.run(_new_token(settings, email=args.email, name=args.name)))


async def _new_token(settings: Settings, *, email: str, name: str) -> str:
    engine = engine_for(settings)
    try:
        async with session_scope(create_session_maker(engine)) as session:
            user = await accounts.get_user_by_email(session, email=email)
            if user is None or not user.is_active:
                raise CommandError(f"no active user with email {email} on this node")
            _, plain = await accounts.create_api_token(session, user=user, name=name, actor=CLI)
    finally:
        await engine.dispose()
    return plain


# ---- federation -------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _federation(settings: Settings) -> AsyncIterator[tuple[FederationRuntime, AsyncSession]]:
    """The federation runtime and one unit of work (committed at the end), for one command."""
    engine = engine_for(settings)
    session_maker = create_session_maker(engine)
    try:
        async with (
            start_federation(settings, session_maker, run_worker=False) as federation,
            session_scope(session_maker) as session,
        ):
            yield federation.runtime, session
    finally:
        await engine.dispose()


def cmd_worker(args: argparse.Namespace) -> None:
    settings = load_settings(args.data_dir)
    prepare_database(settings.database_url)
    configure_logging(settings.log_level)
    asyncio.run(_run_worker(settings))


async def _run_worker(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    engine = engine_for(settings)
    try:
        async with start_federation(settings, create_session_maker(engine), run_worker=True):
            print(f"delivery worker for {settings.public_url} running; Ctrl-C stops it", flush=True)
            await stop.wait()
    finally:
        await engine.dispose()


def cmd_ally(args: argparse.Namespace) -> None:
    settings = load_settings(args.data_dir)

    async def run() -> str:
        async with _federation(settings) as (runtime, session):
            peer = await alliances.propose(
                session,
                runtime,
                url=args.url,
                scopes=args.scope or list(ALL_SCOPES),
                message=args.message,
                actor=CLI,
            )
            [described] = await alliances.describe(session, [peer])
        return _alliance_line(described)

    line = asyncio.run(run())
    print(line)
    print("The offer is queued; the other node's admin sees it once `serve` or `worker` sends it.")


def cmd_allies(args: argparse.Namespace) -> None:
    settings = load_settings(args.data_dir)
    if args.action and not args.peer:
        raise CommandError(f"say which peer to {args.action}: its id or URL")

    async def run() -> list[str]:
        async with _federation(settings) as (runtime, session):
            if args.action:
                peer = await alliances.act(
                    session, runtime, ref=args.peer, action=args.action, actor=CLI
                )
                return [_alliance_line(a) for a in await alliances.describe(session, [peer])]
            return [_alliance_line(a) for a in await alliances.all_alliances(session)]

    lines = asyncio.run(run())
    print(
        "\n".join(lines) if lines else "No peers yet: offer an alliance with `ipo-node ally URL`."
    )


def _alliance_line(alliance: AlliancePublic) -> str:
    fingerprint = ", ".join(alliance.key_fingerprints) or "no key"
    return (
        f"{alliance.id:>3}  {alliance.state.value:<9}  {alliance.name}  <{alliance.node_id}>\n"
        f"     scopes: {', '.join(alliance.scopes)}   key: {fingerprint}\n"
        f"     queued: {alliance.delivery.queued}   failed: {alliance.delivery.failed}"
        + (f"   last error: {alliance.delivery.last_error}" if alliance.delivery.last_error else "")
        + ("   PAUSED" if alliance.delivery.paused else "")
    )


def cmd_deliveries(args: argparse.Namespace) -> None:
    settings = load_settings(args.data_dir)

    async def run() -> list[str]:
        async with _federation(settings) as (runtime, session):
            lines = []
            if args.retry is not None:
                requeued = await alliances.retry_now(
                    session, runtime, ref=args.retry or None, actor=CLI
                )
                lines.append(f"{requeued} failed deliveries queued again; backoff lifted.")
            for alliance in await alliances.all_alliances(session):
                health = alliance.delivery
                lines.append(
                    f"{alliance.node_id}: {health.queued} queued, {health.failed} failed, "
                    f"{health.consecutive_failures} failures in a row"
                    + (f", next try {health.next_attempt_at:%Y-%m-%d %H:%M:%S} UTC"
                       if health.next_attempt_at else "")
                    + (f", last error: {health.last_error}" if health.last_error else "")
                )  # fmt: skip
            return lines

    print("\n".join(asyncio.run(run())) or "No peers yet.")


def cmd_rotate_key(args: argparse.Namespace) -> None:
    settings = load_settings(args.data_dir)
    if args.grace_days < 1:
        raise CommandError("--grace-days must be at least 1, so peers can learn the new key")
    old, new = rotate_keyring(settings.keys_dir, grace=timedelta(days=args.grace_days))

    async def announce() -> int:
        engine = engine_for(settings)
        try:
            async with session_scope(create_session_maker(engine)) as session:
                told = await announce_rotation(
                    session, node_id=settings.public_url, old=old, new=new
                )
                await record(
                    session,
                    actor=CLI,
                    action="key.rotate",
                    object_type="key",
                    object_id=new.kid,
                    detail={"old_kid": old.kid, "grace_days": args.grace_days, "told": told},
                )
                return told
        finally:
            await engine.dispose()

    told = asyncio.run(announce())
    print(f"New key {new.kid} signs from now on.")
    print(f"Old key {old.kid} stays valid for {args.grace_days} days; {told} peers will be told.")


# ---- backup ---------------------------------------------------------------------------------


def cmd_backup(args: argparse.Namespace) -> None:
    path, manifest = backup(args.data_dir, args.out)
    print(f"Wrote {path} ({manifest.database} at revision {manifest.alembic_revision}, "
          f"keys {', '.join(manifest.key_kids)})")  # fmt: skip


def cmd_restore(args: argparse.Namespace) -> None:
    manifest = restore(args.data_dir, args.backup, database_url=args.database_url)
    print(f"Restored {manifest.node_id} (backup of {manifest.created}) into {args.data_dir}")
    print(f"Start it with: ipo-node serve --data-dir {args.data_dir}")


# ---- verify ---------------------------------------------------------------------------------


def cmd_verify(args: argparse.Namespace) -> None:
    """Print which signatures hold; exit 2 unless all hold and the rule is met."""
    report = endorsement_bundle.check_file(args.bundle)
    print(report.render())
    if not report.ok:
        raise CommandError("the bundle does not verify")


# ---- demo -----------------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> None:
    try:
        ok = run_demo(data_dir=args.data_dir.resolve(), port=args.port, once=args.once)
    except DemoError as exc:
        raise CommandError(str(exc)) from None
    if not ok:
        raise CommandError("not every flow converged; see the summary above")


if __name__ == "__main__":
    raise SystemExit(main())
