"""The transactional outbox: an activity and its deliveries, written with the change itself.

``enqueue`` adds rows to the caller's session and never commits, so the local change and the
promise to tell each recipient commit together or not at all. The delivery worker sends them
afterwards (``federation.delivery``); the receiver deduplicates on the activity ``id``, so
at-least-once delivery has exactly-once effect.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from federation.models import AllianceState, Delivery, DeliveryState, OutboxActivity, Peer
from federation.storage import utcnow
from schemas.activity import Activity, ActivityType, EmbeddedObject


def new_activity_id(node_id: str) -> str:
    """A fresh, globally unique activity id under this node's origin."""
    return f"{node_id}/activities/{uuid.uuid4()}"


def build_activity(
    *,
    node_id: str,
    type: ActivityType,
    object: EmbeddedObject | str,
    to: Sequence[str],
) -> Activity:
    """An activity by this node, with a new id and ``published`` now."""
    return Activity(
        type=type,
        id=new_activity_id(node_id),
        actor=node_id,
        object=object,
        published=utcnow(),
        to=list(to),
    )


def serialize(model: BaseModel) -> str:
    """The exact JSON sent on the wire (no nulls: absent and null mean the same)."""
    return model.model_dump_json(exclude_none=True)


async def enqueue(
    session: AsyncSession,
    *,
    activity: Activity,
    recipients: Sequence[Peer],
    expires_at: datetime | None = None,
    signing_kid: str | None = None,
) -> OutboxActivity | None:
    """Record ``activity`` for delivery to each recipient, in the caller's transaction.

    Returns ``None`` (and writes nothing) when there are no recipients. ``expires_at`` drops
    deliveries not made by then (a canvass call's shift start); ``signing_kid`` pins the key
    that signs it (a key rotation is announced with the old key).
    """
    if not recipients:
        return None
    embedded = activity.object
    row = OutboxActivity(
        activity_id=activity.id,
        type=activity.type,
        object_type="Link" if isinstance(embedded, str) else embedded.type,
        object_id=embedded if isinstance(embedded, str) else getattr(embedded, "id", ""),
        body=serialize(activity),
        expires_at=expires_at,
        signing_kid=signing_kid,
    )
    session.add(row)
    await session.flush()
    assert row.id is not None  # noqa: S101 -- set by the flush above
    for peer in recipients:
        assert peer.id is not None  # noqa: S101 -- peers come from the database
        session.add(Delivery(activity_pk=row.id, peer_id=peer.id, expires_at=expires_at))
    await session.flush()
    return row


async def allies_sharing(session: AsyncSession, *, scope: str) -> list[Peer]:
    """Allies whose alliance covers ``scope``: the recipients of a shared object.

    Suspended allies are included: their deliveries are held, not dropped, and go out in
    order when the alliance resumes (deletions too).
    """
    result = await session.execute(
        select(Peer)
        .where(col(Peer.state).in_([AllianceState.active, AllianceState.suspended]))
        .order_by(col(Peer.id))
    )
    return [peer for peer in result.scalars() if scope in peer.scopes]


@dataclass(frozen=True)
class Travel:
    """How far the latest change of one object has travelled to the allies it was sent to."""

    delivered: int
    on_the_way: int
    failed: int

    @property
    def total(self) -> int:
        return self.delivered + self.on_the_way + self.failed


async def travel_of(session: AsyncSession, *, object_id: str) -> Travel | None:
    """The deliveries of the newest activity about ``object_id`` this node sent, by state;
    ``None`` when it sent none (a private object, or no allies)."""
    latest = await session.execute(
        select(OutboxActivity.id)
        .where(col(OutboxActivity.object_id) == object_id)
        .order_by(col(OutboxActivity.id).desc())
        .limit(1)
    )
    activity_pk = latest.scalar_one_or_none()
    if activity_pk is None:
        return None
    rows = await session.execute(
        select(Delivery.state, func.count())
        .where(col(Delivery.activity_pk) == activity_pk)
        .group_by(col(Delivery.state))
    )
    counts = {DeliveryState(state): int(count) for state, count in rows.all()}
    if not counts:
        return None
    return Travel(
        delivered=counts.get(DeliveryState.delivered, 0),
        on_the_way=counts.get(DeliveryState.pending, 0),
        failed=counts.get(DeliveryState.failed, 0) + counts.get(DeliveryState.expired, 0),
    )
