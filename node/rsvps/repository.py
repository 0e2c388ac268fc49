"""Every query of the RSVPs domain."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from node.rsvps.models import Rsvp, RsvpState


@dataclass(frozen=True)
class Counts:
    """How many are coming: the only thing about RSVPs that may leave the organizers' pages."""

    going: int = 0
    waitlisted: int = 0
    checked_in: int = 0


async def by_token_hash(session: AsyncSession, *, token_hash: str) -> Rsvp | None:
    result = await session.execute(sa.select(Rsvp).where(col(Rsvp.token_hash) == token_hash))
    return result.scalar_one_or_none()


async def by_email(session: AsyncSession, *, event_id: str, email: str) -> Rsvp | None:
    result = await session.execute(
        sa.select(Rsvp).where(col(Rsvp.event_id) == event_id, col(Rsvp.email) == email.lower())
    )
    return result.scalar_one_or_none()


async def of_event(session: AsyncSession, *, event_id: str) -> list[Rsvp]:
    """Every RSVP of the event, cancelled ones included: going by name, then the waitlist in
    its order."""
    result = await session.execute(
        sa.select(Rsvp)
        .where(col(Rsvp.event_id) == event_id)
        .order_by(
            col(Rsvp.waitlisted_at).nulls_first(),
            sa.func.lower(col(Rsvp.name)),
            col(Rsvp.id),
        )
    )
    return list(result.scalars())


async def in_states(
    session: AsyncSession, *, event_id: str, states: Collection[RsvpState]
) -> list[Rsvp]:
    result = await session.execute(
        sa.select(Rsvp)
        .where(col(Rsvp.event_id) == event_id, col(Rsvp.state).in_(list(states)))
        .order_by(col(Rsvp.id))
    )
    return list(result.scalars())


async def first_waitlisted(session: AsyncSession, *, event_id: str) -> Rsvp | None:
    result = await session.execute(
        sa.select(Rsvp)
        .where(col(Rsvp.event_id) == event_id, col(Rsvp.state) == RsvpState.waitlisted)
        .order_by(col(Rsvp.waitlisted_at), col(Rsvp.id))
        .limit(1)
    )
    return result.scalar_one_or_none()


async def counts(session: AsyncSession, *, event_ids: Collection[str]) -> dict[str, Counts]:
    """The counts of each event, in one query; an event nobody RSVPed to is left out."""
    if not event_ids:
        return {}
    going = sa.func.sum(sa.case((col(Rsvp.state) == RsvpState.going, 1), else_=0))
    waiting = sa.func.sum(sa.case((col(Rsvp.state) == RsvpState.waitlisted, 1), else_=0))
    checked = sa.func.sum(
        sa.case(
            (
                sa.and_(col(Rsvp.state) == RsvpState.going, col(Rsvp.checked_in_at).is_not(None)),
                1,
            ),
            else_=0,
        )
    )
    result = await session.execute(
        sa.select(col(Rsvp.event_id), going, waiting, checked)
        .where(col(Rsvp.event_id).in_(list(event_ids)))
        .group_by(col(Rsvp.event_id))
    )
    return {
        event_id: Counts(going=int(g or 0), waitlisted=int(w or 0), checked_in=int(c or 0))
        for event_id, g, w, c in result
    }


async def delete_of_event(session: AsyncSession, *, event_id: str) -> None:
    await session.execute(sa.delete(Rsvp).where(col(Rsvp.event_id) == event_id))


async def by_email_everywhere(session: AsyncSession, *, email: str) -> list[Rsvp]:
    result = await session.execute(sa.select(Rsvp).where(col(Rsvp.email) == email.lower()))
    return list(result.scalars())
