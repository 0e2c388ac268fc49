"""``ipo-node demo``: a local node with sample data, for a first look.

It creates (once) a node for 33rd Ward Working Families in the demo data directory, with an
admin login kept in ``demo-login.txt`` there, adds a few sample events, and serves it on
loopback. ``--once`` does the same set-up, checks the node answers through its own API, prints
a summary and exits, for tests and CI.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from datetime import timedelta
from pathlib import Path

import httpx

from federation.keys import create_keyring
from federation.storage import utcnow
from node.accounts import service as accounts
from node.accounts.models import Role, UserCreate
from node.audit.service import CLI, SYSTEM
from node.config import CONFIG_FILE, Settings, load_settings, write_config_file
from node.db import create_engine, create_session_maker, session_scope
from node.events import repository as events_repository
from node.events import service as events
from node.events.models import EventCreate
from node.main import create_app
from node.migrate import prepare_database
from node.server import run_server

DEMO_NAME = "33rd Ward Working Families"
DEMO_ADMIN = "admin@ward33.example"
LOGIN_FILE = "demo-login.txt"


def run_demo(*, data_dir: Path, port: int, once: bool) -> None:
    print(f"Setting up the demo node in {data_dir} ...", flush=True)
    settings, password = ensure_demo_node(data_dir, port=port)
    print("  database migrated, keys ready", flush=True)
    seeded = asyncio.run(seed_sample_events(settings))
    print(f"  {seeded} sample events added" if seeded else "  sample events already there")
    if once:
        summary = asyncio.run(check_demo_node(settings))
        print(summary)
        return
    print()
    print(f"  {DEMO_NAME} is at {settings.public_url}")
    print(f"  log in as {DEMO_ADMIN} with password {password}")
    print(f"  API docs: {settings.public_url}/docs   calendar: {settings.public_url}/calendar.ics")
    print("  Ctrl-C stops it.", flush=True)
    run_server(settings, host="127.0.0.1", port=port)


def ensure_demo_node(data_dir: Path, *, port: int) -> tuple[Settings, str]:
    """The demo node's settings and admin password, creating the node the first time."""
    login_file = data_dir / LOGIN_FILE
    if not (data_dir / CONFIG_FILE).exists():
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_config_file(
            data_dir,
            {
                "name": DEMO_NAME,
                "public_url": f"http://127.0.0.1:{port}",
                "kind": "ipo",
                "wards": [33],
                "secret_key": secrets.token_urlsafe(48),
                "allow_private_peers": True,
            },
        )
        create_keyring(data_dir / "keys")
    settings = load_settings(data_dir, public_url=f"http://127.0.0.1:{port}")
    prepare_database(settings.database_url)
    if not login_file.exists():
        password = secrets.token_urlsafe(12)
        asyncio.run(_create_admin(settings, password))
        fd = os.open(login_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(f"{DEMO_ADMIN}\n{password}\n")
    password = login_file.read_text().splitlines()[1]
    return settings, password


async def _create_admin(settings: Settings, password: str) -> None:
    engine = create_engine(settings.database_url)
    try:
        async with session_scope(create_session_maker(engine)) as session:
            data = UserCreate(
                email=DEMO_ADMIN, role=Role.admin, password=password, display_name="Demo admin"
            )
            await accounts.create_user(session, data=data, actor=CLI)
    finally:
        await engine.dispose()


def _sample_events() -> list[EventCreate]:
    today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)

    def at(days: int, hour: int) -> str:
        # Chicago is UTC-6 in winter; hours below are local.
        return (today + timedelta(days=days, hours=hour + 6)).isoformat()

    return [
        EventCreate.model_validate(item)
        for item in (
            {
                "title": "Saturday canvass: Albany Park",
                "description": "Knock doors for the participatory budgeting vote. Training "
                "at the start; bring comfortable shoes.",
                "start_date": at(7, 10),
                "end_date": at(7, 13),
                "event_type": "CANVASS",
                "visibility": "public",
                "wards": [33],
                "location": {
                    "venue": "Ward office",
                    "address_lines": ["3001 W Irving Park Rd"],
                    "locality": "Chicago",
                    "region": "IL",
                    "postal_code": "60618",
                },
            },
            {
                "title": "General membership meeting",
                "description": "Monthly meeting: endorsement process for the spring election.",
                "start_date": at(10, 18),
                "end_date": at(10, 20),
                "event_type": "MEETING",
                "visibility": "coalition",
                "wards": [33],
            },
            {
                "title": "Strike support picket",
                "description": "Stand with the nurses at the hospital entrance.",
                "start_date": at(3, 7),
                "end_date": at(3, 10),
                "event_type": "STRIKE_SUPPORT",
                "visibility": "public",
                "wards": [33, 35],
            },
        )
    ]


async def seed_sample_events(settings: Settings) -> int:
    """Add the sample events unless the node already has events; returns how many."""
    engine = create_engine(settings.database_url)
    try:
        async with session_scope(create_session_maker(engine)) as session:
            if await events_repository.count_events(session):
                return 0
            for data in _sample_events():
                await events.create_event(session, data=data, actor=SYSTEM, settings=settings)
    finally:
        await engine.dispose()
    return len(_sample_events())


async def check_demo_node(settings: Settings) -> str:
    """Ask the node, through its own HTTP API, what a visitor would see."""
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=settings.public_url
        ) as client,
    ):
        ready = (await client.get("/readyz")).json()
        document = (await client.get("/.well-known/coalition-node")).json()
        listed = (await client.get("/api/v1/events")).json()
        calendar = await client.get("/calendar.ics")
    if ready.get("status") != "ok":
        raise RuntimeError(f"demo node is not ready: {ready}")
    if calendar.status_code != 200 or "BEGIN:VEVENT" not in calendar.text:
        raise RuntimeError(f"demo calendar feed is broken: HTTP {calendar.status_code}")
    return (
        f"demo node ok: {document['name']} ({document['id']}), "
        f"key {document['keys']['keys'][0]['kid']}, "
        f"{len(listed['items'])} public events listed, "
        f"calendar feed {calendar.status_code} with {calendar.text.count('BEGIN:VEVENT')} events"
    )
