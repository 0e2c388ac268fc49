"""Upgrading years later: a database made by the first migration, with data, served by today's code.

``serve`` upgrades the database at start (compose also runs ``migrate`` first); nothing that was
there is lost, and the new tables work.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import sqlalchemy as sa
from alembic import command

from federation.keys import create_keyring
from federation.storage import UTCDateTime
from node.accounts.service import hash_password
from node.config import write_config_file
from node.db import create_engine
from node.migrate import alembic_config, head_revision
from tests.e2e.realnode import PASSWORD, RealNode, query

FIRST_REVISION = "0001"

USER_ACCOUNT = sa.table(
    "user_account",
    sa.column("email", sa.String),
    sa.column("display_name", sa.String),
    sa.column("role", sa.String),
    sa.column("password_hash", sa.String),
    sa.column("is_active", sa.Boolean),
    sa.column("created_at", UTCDateTime(timezone=True)),
)


async def add_admin(database_url: str, email: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                sa.insert(USER_ACCOUNT).values(
                    email=email,
                    display_name="Chair",
                    role="admin",
                    password_hash=hash_password(PASSWORD),
                    is_active=True,
                    created_at=datetime.now(UTC),
                )
            )
    finally:
        await engine.dispose()


class TestUpgradeFromTheFirstRelease:
    def test_serve_upgrades_and_still_serves_everything(
        self, tmp_path: Path, empty_database: Callable[[], str]
    ) -> None:
        # Given a node whose database was built by the first migration and holds its admin
        node = RealNode("30th United", "ward30", 30, tmp_path, empty_database())
        command.upgrade(alembic_config(node.database_url), FIRST_REVISION)
        asyncio.run(add_admin(node.database_url, node.admin_email))
        node.data_dir.mkdir(mode=0o700)
        write_config_file(node.data_dir, {
            "name": node.name, "public_url": node.url, "wards": [node.ward],
            "secret_key": secrets.token_urlsafe(48), "database_url": node.database_url,
        })  # fmt: skip
        node.fingerprint = create_keyring(node.data_dir / "keys").active.kid
        assert query(node.database_url, "SELECT version_num FROM alembic_version") == [
            (FIRST_REVISION,)
        ]
        try:
            # When today's `ipo-node serve` starts on it
            node.serve()

            # Then the database is at head and the node is ready
            ready = httpx.get(f"{node.url}/readyz", timeout=5)
            assert ready.json() == {"status": "ok", "database": head_revision()}

            # And the admin of the first release logs in with the same password
            login = httpx.post(
                f"{node.url}/api/v1/auth/login",
                json={"email": node.admin_email, "password": PASSWORD},
                timeout=5,
            )
            assert login.status_code == 200, login.text

            # And everything added since works: events, alliances, the node document
            me = node.api.get("/api/v1/me")
            assert me.json()["role"] == "admin"
            created = node.api.post("/api/v1/events", json={
                "title": "Ward night", "start_date": "2031-01-10T18:00:00+00:00",
                "end_date": "2031-01-10T20:00:00+00:00", "event_type": "MEETING",
                "visibility": "public", "wards": [30],
            })  # fmt: skip
            assert created.status_code == 201, created.text
            assert [e["title"] for e in node.events()] == ["Ward night"]
            assert node.alliances() == {}
            document = httpx.get(f"{node.url}/.well-known/coalition-node", timeout=5).json()
            assert [key["kid"] for key in document["keys"]["keys"]] == [node.fingerprint]
        finally:
            node.close()
