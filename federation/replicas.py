"""Rules for keeping replicas of other nodes' objects.

Every shared object has one origin, its only writer, and an integer ``version`` the origin
bumps on every change. A receiver applies a ``Create`` or ``Update`` only if it carries a higher
version than the replica it holds, and never at or below the version a ``Delete`` buried: the
tombstone stays, so out-of-order or late delivery is harmless. Only a higher version lifts a
tombstone: the origin has shared the object again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from federation.models import ReplicaTombstone


def is_newer(incoming_version: int, held_version: int | None) -> bool:
    """Apply an incoming state only if it is newer than what is held (or nothing is)."""
    return held_version is None or incoming_version > held_version


async def _tombstone(session: AsyncSession, object_id: str) -> ReplicaTombstone | None:
    result = await session.execute(
        select(ReplicaTombstone).where(col(ReplicaTombstone.object_id) == object_id)
    )
    return result.scalar_one_or_none()


async def is_buried(session: AsyncSession, *, object_id: str, version: int) -> bool:
    """Whether the origin deleted the object at ``version`` or later."""
    tombstone = await _tombstone(session, object_id)
    return tombstone is not None and version <= tombstone.version


async def bury(
    session: AsyncSession,
    *,
    object_id: str,
    origin: str,
    former_type: str,
    version: int,
    deleted_at: datetime,
) -> None:
    """Record the origin's deletion of an object at ``version`` (idempotent, monotone)."""
    tombstone = await _tombstone(session, object_id)
    if tombstone is None:
        session.add(
            ReplicaTombstone(
                object_id=object_id,
                origin=origin,
                former_type=former_type,
                version=version,
                deleted_at=deleted_at,
            )
        )
    elif version > tombstone.version:
        tombstone.version = version
        tombstone.deleted_at = deleted_at
        session.add(tombstone)
    await session.flush()


async def lift(session: AsyncSession, *, object_id: str) -> None:
    """Forget a tombstone: a newer version of the object has been applied."""
    await session.execute(
        delete(ReplicaTombstone).where(col(ReplicaTombstone.object_id) == object_id)
    )
