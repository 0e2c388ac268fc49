"""Every query of the canvass domain."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from node.canvass.models import (
    CanvassCall,
    CanvassCommitment,
    CanvassReport,
    CanvassShift,
    CanvassSignup,
    CommitmentState,
    SignupState,
)


async def get_call(session: AsyncSession, *, call_id: str) -> CanvassCall | None:
    return await session.get(CanvassCall, call_id)


async def call_by_object_id(session: AsyncSession, *, object_id: str) -> CanvassCall | None:
    result = await session.execute(
        select(CanvassCall).where(col(CanvassCall.object_id) == object_id)
    )
    return result.scalar_one_or_none()


async def list_calls(session: AsyncSession, *, origin: str, everything: bool) -> list[CanvassCall]:
    """Every call (organizers), or this node's own and the relayed ones (members)."""
    query = select(CanvassCall)
    if not everything:
        query = query.where(
            or_(col(CanvassCall.origin) == origin, col(CanvassCall.relayed_at).is_not(None))
        )
    result = await session.execute(query.order_by(col(CanvassCall.expires_at), col(CanvassCall.id)))
    return list(result.scalars())


async def local_calls(session: AsyncSession, *, origin: str) -> list[CanvassCall]:
    result = await session.execute(
        select(CanvassCall)
        .where(col(CanvassCall.origin) == origin)
        .order_by(col(CanvassCall.created_at), col(CanvassCall.id))
    )
    return list(result.scalars())


async def shifts_of(session: AsyncSession, *, call_id: str) -> list[CanvassShift]:
    result = await session.execute(
        select(CanvassShift)
        .where(col(CanvassShift.call_id) == call_id)
        .order_by(col(CanvassShift.position))
    )
    return list(result.scalars())


async def shifts_of_calls(
    session: AsyncSession, *, call_ids: Collection[str]
) -> dict[str, list[CanvassShift]]:
    by_call: dict[str, list[CanvassShift]] = {call_id: [] for call_id in call_ids}
    if not call_ids:
        return by_call
    result = await session.execute(
        select(CanvassShift)
        .where(col(CanvassShift.call_id).in_(list(call_ids)))
        .order_by(col(CanvassShift.position))
    )
    for shift in result.scalars():
        by_call[shift.call_id].append(shift)
    return by_call


async def shift_by_object_id(
    session: AsyncSession, *, object_id: str, for_update: bool = False
) -> CanvassShift | None:
    """A shift by its global id; ``for_update`` locks its row (PostgreSQL) so that two
    commitments handled at once cannot both take the last place."""
    query = select(CanvassShift).where(col(CanvassShift.object_id) == object_id)
    if for_update:
        query = query.with_for_update()
    result = await session.execute(query)
    return result.scalar_one_or_none()


async def calls_and_shifts_by_object_ids(
    session: AsyncSession, *, call_ids: Collection[str], shift_ids: Collection[str]
) -> tuple[dict[str, CanvassCall], dict[str, CanvassShift]]:
    """Calls and shifts by global id, two queries whatever their number (a member's sign-ups)."""
    calls = await session.execute(
        select(CanvassCall).where(col(CanvassCall.object_id).in_(list(call_ids)))
    )
    shifts = await session.execute(
        select(CanvassShift).where(col(CanvassShift.object_id).in_(list(shift_ids)))
    )
    return (
        {call.object_id: call for call in calls.scalars()},
        {shift.object_id: shift for shift in shifts.scalars()},
    )


async def commitment_by_object_id(
    session: AsyncSession, *, object_id: str
) -> CanvassCommitment | None:
    result = await session.execute(
        select(CanvassCommitment).where(col(CanvassCommitment.object_id) == object_id)
    )
    return result.scalar_one_or_none()


async def commitments_of(
    session: AsyncSession, *, shift_id: str, states: Collection[CommitmentState] | None = None
) -> list[CanvassCommitment]:
    """A shift's commitments in the order they arrived: the waitlist's order too."""
    query = select(CanvassCommitment).where(col(CanvassCommitment.shift_id) == shift_id)
    if states is not None:
        query = query.where(col(CanvassCommitment.state).in_(list(states)))
    result = await session.execute(
        query.order_by(col(CanvassCommitment.created_at), col(CanvassCommitment.id))
    )
    return list(result.scalars())


async def held_by_node(session: AsyncSession, *, shift_id: str, home_node: str) -> int:
    """How many commitments (places and waitlist) one node's volunteers hold on a shift."""
    result = await session.execute(
        select(func.count())
        .select_from(CanvassCommitment)
        .where(
            col(CanvassCommitment.shift_id) == shift_id,
            col(CanvassCommitment.home_node) == home_node,
            col(CanvassCommitment.state).in_(
                [CommitmentState.committed, CommitmentState.waitlisted]
            ),
        )
    )
    return int(result.scalar_one())


async def held_per_node(
    session: AsyncSession, *, shift_ids: Collection[str]
) -> dict[str, dict[str, dict[CommitmentState, int]]]:
    """Per shift, per home node: how many commitments are committed and waitlisted."""
    by_shift: dict[str, dict[str, dict[CommitmentState, int]]] = {sid: {} for sid in shift_ids}
    if not shift_ids:
        return by_shift
    result = await session.execute(
        select(
            col(CanvassCommitment.shift_id),
            col(CanvassCommitment.home_node),
            col(CanvassCommitment.state),
            func.count(),
        )
        .where(
            col(CanvassCommitment.shift_id).in_(list(shift_ids)),
            col(CanvassCommitment.state).in_(
                [CommitmentState.committed, CommitmentState.waitlisted]
            ),
        )
        .group_by(
            col(CanvassCommitment.shift_id),
            col(CanvassCommitment.home_node),
            col(CanvassCommitment.state),
        )
    )
    for shift_id, home_node, state, count in result.all():
        by_shift[shift_id].setdefault(home_node, {})[CommitmentState(state)] = int(count)
    return by_shift


async def get_signup(session: AsyncSession, *, signup_id: str) -> CanvassSignup | None:
    return await session.get(CanvassSignup, signup_id)


async def signup_by_object_id(session: AsyncSession, *, object_id: str) -> CanvassSignup | None:
    result = await session.execute(
        select(CanvassSignup).where(col(CanvassSignup.object_id) == object_id)
    )
    return result.scalar_one_or_none()


async def signups_of_user(session: AsyncSession, *, user_id: int) -> list[CanvassSignup]:
    result = await session.execute(
        select(CanvassSignup)
        .where(col(CanvassSignup.user_id) == user_id)
        .order_by(col(CanvassSignup.created_at), col(CanvassSignup.id))
    )
    return list(result.scalars())


async def active_signups_for_shifts(
    session: AsyncSession, *, shift_object_ids: Collection[str], states: Collection[SignupState]
) -> list[CanvassSignup]:
    if not shift_object_ids:
        return []
    result = await session.execute(
        select(CanvassSignup).where(
            col(CanvassSignup.shift_object_id).in_(list(shift_object_ids)),
            col(CanvassSignup.state).in_(list(states)),
        )
    )
    return list(result.scalars())


async def reports_of(session: AsyncSession, *, call_id: str) -> list[CanvassReport]:
    result = await session.execute(
        select(CanvassReport)
        .where(col(CanvassReport.call_id) == call_id)
        .order_by(col(CanvassReport.published_at), col(CanvassReport.id))
    )
    return list(result.scalars())


async def report_by_object_id(session: AsyncSession, *, object_id: str) -> CanvassReport | None:
    result = await session.execute(
        select(CanvassReport).where(col(CanvassReport.object_id) == object_id)
    )
    return result.scalar_one_or_none()
