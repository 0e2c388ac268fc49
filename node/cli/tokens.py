"""``ipo-node token``: a bearer token for a user, as an admin gets one on the node's machine.

Its own module so that the command loads no migration code (``ipo-node`` imports only the
module of the command it runs).
"""

from __future__ import annotations

import argparse
import asyncio

from node.accounts import service as accounts
from node.audit.service import CLI
from node.cli import CommandError, Subcommands, data_dir_argument
from node.cli.errors import NODE_ERRORS
from node.config import Settings, load_settings
from node.db import create_session_maker, engine_for, session_scope

ERRORS = NODE_ERRORS
"""What this command raises that a person can fix: printed, exit status 2."""


def register(commands: Subcommands) -> None:
    """Add this module's command to ``ipo-node``."""
    token = commands.add_parser("token", help="print a new bearer token for a user")
    data_dir_argument(token)
    token.add_argument("--email", required=True)
    token.add_argument("--name", default="cli", help="a label to recognise the token by")
    token.set_defaults(handler=cmd_token)


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
