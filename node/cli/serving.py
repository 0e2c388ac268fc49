"""``ipo-node serve`` and ``worker``: the long-running processes (they load the whole app)."""

from __future__ import annotations

import argparse
import asyncio
import signal

from federation.keys import load_keyring
from node.cli import Subcommands, data_dir_argument
from node.cli.errors import NODE_ERRORS
from node.config import Settings, load_settings
from node.db import create_session_maker, engine_for
from node.federation_setup import start_federation
from node.migrate import prepare_database
from node.ops.logging import configure_logging
from node.server import run_server

ERRORS = NODE_ERRORS
"""What these commands raise that a person can fix: printed, exit status 2."""


def register(commands: Subcommands) -> None:
    """Add this module's commands to ``ipo-node``."""
    serve = commands.add_parser("serve", help="run the web app (with the delivery worker)")
    data_dir_argument(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(handler=cmd_serve)

    worker = commands.add_parser("worker", help="run the delivery worker alone (production)")
    data_dir_argument(worker)
    worker.set_defaults(handler=cmd_worker)


def cmd_serve(args: argparse.Namespace) -> None:
    settings = load_settings(args.data_dir)
    load_keyring(settings.keys_dir)  # fail before binding a port if the keys are unusable
    prepare_database(settings.database_url)
    run_server(settings, host=args.host, port=args.port)


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
