"""Rules for keeping replicas of other nodes' objects.

Every shared object has one origin, its only writer, and an integer ``version`` the origin
bumps on every change. A receiver applies a ``Create`` or ``Update`` only if it carries a higher
version than the replica it holds, and never after a ``Delete``: the tombstone stays, so
out-of-order or late delivery is harmless.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from federation.models import ReplicaTombstone


def is_newer(incoming_version: int, held_version: int | None) -> bool:
    """Apply an incoming state only if it is newer than what is held (or nothing is)."""
    return held_version is None or incoming_version > held_version


async def is_buried(session: AsyncSession, *, object_id: str) -> bool:
    """Whether the object's origin has deleted it."""
    result = await session.execute(
        select(ReplicaTombstone.id).where(col(ReplicaTombstone.object_id) == object_id)
    )
    return result.first() is not None


async def bury(
    session: AsyncSession, *, object_id: str, origin: str, former_type: str, deleted_at: datetime
) -> None:
    """Record the origin's deletion of an object (idempotent)."""
    if await is_buried(session, object_id=object_id):
        return
    session.add(
        ReplicaTombstone(
            object_id=object_id, origin=origin, former_type=former_type, deleted_at=deleted_at
        )
    )
    await session.flush()
