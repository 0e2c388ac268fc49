"""``ipo-node ally``, ``allies``, ``deliveries`` and ``rotate-key``: the node's peers."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from federation.keys import rotate_keyring
from federation.policies import ALL_SCOPES
from federation.rotation import announce_rotation
from federation.runtime import FederationRuntime
from node.alliances import service as alliances
from node.alliances.models import AlliancePublic
from node.audit.service import CLI, record
from node.cli import CommandError, Subcommands, data_dir_argument
from node.cli.errors import NODE_ERRORS
from node.config import Settings, load_settings
from node.db import create_session_maker, engine_for, session_scope
from node.federation_setup import start_federation

ERRORS = NODE_ERRORS
"""What these commands raise that a person can fix: printed, exit status 2."""


def register(commands: Subcommands) -> None:
    """Add this module's commands to ``ipo-node``."""
    ally = commands.add_parser("ally", help="offer an alliance to another node")
    data_dir_argument(ally)
    ally.add_argument("url", help="the other node's public base URL")
    ally.add_argument(
        "--scope",
        action="append",
        choices=list(ALL_SCOPES),
        help="what this node will share (repeat; default: all)",
    )
    ally.add_argument("--message", help="a note for the other node's admin")
    ally.set_defaults(handler=cmd_ally)

    allies = commands.add_parser("allies", help="list peers, or answer or change an alliance")
    data_dir_argument(allies)
    allies.add_argument("action", nargs="?", choices=sorted(alliances.ACTIONS))
    allies.add_argument("peer", nargs="?", help="the peer's id (from the list) or its URL")
    allies.set_defaults(handler=cmd_allies)

    deliveries = commands.add_parser("deliveries", help="per-peer delivery health")
    data_dir_argument(deliveries)
    deliveries.add_argument(
        "--retry", nargs="?", const="", metavar="PEER", help="send again now (one peer or all)"
    )
    deliveries.set_defaults(handler=cmd_deliveries)

    rotate = commands.add_parser("rotate-key", help="replace the node's signing key")
    data_dir_argument(rotate)
    rotate.add_argument("--grace-days", type=int, default=7, help="how long the old key works")
    rotate.set_defaults(handler=cmd_rotate_key)


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


def shown(text: str) -> str:
    """``text`` safe for a terminal: a control character is written as its escape, so what a
    peer sent (its name, its error message) cannot move the cursor or fake a line."""
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def _alliance_line(alliance: AlliancePublic) -> str:
    fingerprint = ", ".join(alliance.key_fingerprints) or "no key"
    last_error = alliance.delivery.last_error
    return (
        f"{alliance.id:>3}  {alliance.state.value:<9}  {shown(alliance.name)}  "
        f"<{shown(alliance.node_id)}>\n"
        f"     scopes: {', '.join(alliance.scopes) or 'none'}   key: {shown(fingerprint)}\n"
        f"     queued: {alliance.delivery.queued}   failed: {alliance.delivery.failed}"
        + (f"   last error: {shown(last_error)}" if last_error else "")
        + ("   PAUSED" if alliance.delivery.paused else "")
        + (f"\n     {alliance.reason}" if alliance.reason else "")
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
                    + (f", last error: {shown(health.last_error)}" if health.last_error else "")
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
