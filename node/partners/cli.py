"""``ipo-node partners``: register, list and revoke partner clients from the command line.

    ipo-node partners --data-dir DIR add --name NAME --contact EMAIL --scope S [--scope S ...]
                                         [--expires-days N]
    ipo-node partners --data-dir DIR list
    ipo-node partners --data-dir DIR revoke CLIENT_ID

``add`` prints the client secret once; the node keeps only its hash. Every change is in the
audit log, by the command line.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from federation.storage import utcnow
from node.audit.service import CLI
from node.config import Settings, load_settings
from node.db import create_session_maker, engine_for, session_scope
from node.errors import InvalidInput
from node.partners import service
from node.partners.auth import PARTNER_SCOPES
from node.partners.models import PartnerClientCreate, PartnerClientPublic

T = TypeVar("T")


def add_arguments(partners: argparse.ArgumentParser) -> None:
    """The ``add``, ``list`` and ``revoke`` actions under ``ipo-node partners``."""
    actions = partners.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="register a partner client; prints its secret once")
    add.add_argument("--name", required=True, help="the partner organization's name")
    add.add_argument("--contact", required=True, help="who to call about it (an email)")
    add.add_argument(
        "--scope",
        action="append",
        required=True,
        choices=list(PARTNER_SCOPES),
        help="what the client may read or manage (repeat)",
    )
    add.add_argument("--expires-days", type=int, help="the credentials stop working after N days")
    actions.add_parser("list", help="every partner client and whether it is active")
    revoke = actions.add_parser("revoke", help="revoke a client and all its tokens now")
    revoke.add_argument("client_id")


def cmd_partners(args: argparse.Namespace) -> None:
    settings = load_settings(args.data_dir)
    if args.action == "add":
        print(_run(settings, lambda session: _add(session, args)))
    elif args.action == "list":
        lines = _run(settings, _list)
        print("\n".join(lines) if lines else "No partner clients yet.")
    else:
        client = _run(
            settings,
            lambda session: service.revoke_client(session, client_id=args.client_id, actor=CLI),
        )
        print(f"revoked {client.client_id} ({client.name}): its tokens stop working now")


def _run(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def run() -> T:
        engine = engine_for(settings)
        try:
            async with session_scope(create_session_maker(engine)) as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(run())


async def _add(session: AsyncSession, args: argparse.Namespace) -> str:
    if args.expires_days is not None and args.expires_days < 1:
        raise InvalidInput("--expires-days must be at least 1")
    expires_at = utcnow() + timedelta(days=args.expires_days) if args.expires_days else None
    try:
        data = PartnerClientCreate(
            name=args.name, contact=args.contact, scopes=args.scope, expires_at=expires_at
        )
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(part) for part in problem["loc"])
        raise InvalidInput(f"--{where}: {problem['msg']}") from None
    created = await service.register_client(session, data=data, actor=CLI)
    return "\n".join(
        [
            f"client_id:     {created.client_id}",
            f"client_secret: {created.client_secret}",
            f"scopes:        {' '.join(created.scopes)}",
            "The secret is shown this once: give it to the partner now.",
        ]
    )


async def _list(session: AsyncSession) -> list[str]:
    return [_line(service.public(client)) for client in await service.list_clients(session)]


def _line(client: PartnerClientPublic) -> str:
    if client.revoked_at is not None:
        state = "revoked"
    elif not client.is_active:
        state = "expired"
    else:
        state = "active"
    expiry = f"  expires {client.expires_at:%Y-%m-%d}" if client.expires_at else ""
    return (
        f"{client.client_id}  {state:<7}  {client.name} <{client.contact}>  "
        f"{' '.join(client.scopes)}{expiry}"
    )
