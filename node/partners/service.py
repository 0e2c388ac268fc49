"""Registering, listing and revoking partner clients; checking their credentials.

Secrets are random, shown to the admin once, and stored only as their SHA-256 (as the
accounts service does for bearer tokens). Revoking sets ``revoked_at``; every partner request
looks the client up again, so a revoked client's unexpired access tokens stop working at once.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from federation.storage import utcnow
from node.audit.service import Actor, record
from node.errors import Conflict, InvalidInput, NotFound
from node.partners.models import (
    PartnerClient,
    PartnerClientCreate,
    PartnerClientCreated,
    PartnerClientPublic,
)

CLIENT_ID_PREFIX = "pc_"
SECRET_PREFIX = "pcs_"  # noqa: S105 -- a prefix, not a secret


class PartnerClientNotFound(NotFound):
    code = "partner_client_not_found"


def digest_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(client: PartnerClient, secret: str) -> bool:
    return secrets.compare_digest(client.secret_hash, digest_secret(secret))


def public(client: PartnerClient, *, now: datetime | None = None) -> PartnerClientPublic:
    return PartnerClientPublic(
        client_id=client.client_id,
        name=client.name,
        contact=client.contact,
        scopes=list(client.scopes),
        created_at=client.created_at,
        expires_at=client.expires_at,
        revoked_at=client.revoked_at,
        created_by=client.created_by,
        is_active=client.is_usable(now=now or utcnow()),
    )


async def register_client(
    session: AsyncSession, *, data: PartnerClientCreate, actor: Actor
) -> PartnerClientCreated:
    """A new partner client; the returned shape holds the plain secret, this once."""
    if data.expires_at is not None and data.expires_at <= utcnow():
        raise InvalidInput("The expiry is in the past.", field=["body", "expires_at"])
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    client = PartnerClient(
        client_id=CLIENT_ID_PREFIX + secrets.token_urlsafe(12),
        secret_hash=digest_secret(secret),
        name=data.name.strip(),
        contact=str(data.contact).strip().lower(),
        scopes=sorted(set(data.scopes)),
        expires_at=data.expires_at,
        created_by=actor.user_id,
    )
    session.add(client)
    await session.flush()
    await record(
        session,
        actor=actor,
        action="partner_client.create",
        object_type="partner_client",
        object_id=client.client_id,
        detail={"scopes": client.scopes, "expires_at": _iso(client.expires_at)},
    )
    return PartnerClientCreated(**public(client).model_dump(), client_secret=secret)


async def list_clients(session: AsyncSession) -> list[PartnerClient]:
    result = await session.execute(select(PartnerClient).order_by(col(PartnerClient.id)))
    return list(result.scalars())


async def find_client(session: AsyncSession, *, client_id: str) -> PartnerClient | None:
    result = await session.execute(
        select(PartnerClient).where(col(PartnerClient.client_id) == client_id)
    )
    return result.scalar_one_or_none()


async def get_client(session: AsyncSession, *, client_id: str) -> PartnerClient:
    client = await find_client(session, client_id=client_id)
    if client is None:
        raise PartnerClientNotFound(f"No partner client {client_id} on this node.")
    return client


async def revoke_client(session: AsyncSession, *, client_id: str, actor: Actor) -> PartnerClient:
    """Revoke a client: its secret and every token it holds stop working now."""
    client = await get_client(session, client_id=client_id)
    if client.revoked_at is not None:
        raise Conflict(f"Partner client {client_id} is already revoked.")
    client.revoked_at = utcnow()
    session.add(client)
    await session.flush()
    await record(
        session,
        actor=actor,
        action="partner_client.revoke",
        object_type="partner_client",
        object_id=client.client_id,
    )
    return client


async def usable_client(session: AsyncSession, *, client_id: str) -> PartnerClient | None:
    """The client if it exists and is neither revoked nor expired."""
    client = await find_client(session, client_id=client_id)
    if client is None or not client.is_usable(now=utcnow()):
        return None
    return client


async def authenticate_client(
    session: AsyncSession, *, client_id: str, secret: str
) -> PartnerClient | None:
    """The usable client with these credentials, or ``None`` (whatever was wrong)."""
    client = await usable_client(session, client_id=client_id)
    if client is None or not secret_matches(client, secret):
        return None
    return client


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
