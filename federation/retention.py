"""What the activity logs keep of a person once an activity has done its work.

Both logs hold activities as JSON: the outbox (``OutboxActivity.body``, what this node sends)
and the inbox (``InboxActivity.body``, what it received). Almost all of it is the coalition's
shared work and is kept. A few fields are a person's data (``schemas.activity.PERSONAL_FIELDS``:
a volunteer's first name and contact in a ``CanvassCommitment``); a log holds them only while
the node may still need them::

    sender:    enqueued, full ──every delivery final (delivered, failed, expired)──> redacted
               (her withdrawal or her erasure redacts at once, even a delivery still pending:
                it then goes out without them)
    receiver:  received ──its handler applied──> redacted, in the same transaction
               (a handler that broke keeps the full body for its retries; given up ──> redacted)

A redacted body is the same activity without those fields: its id (the receiver's dedup), type,
actor, ``published``, recipients, and the object's type, id, call, shift and handle all stay,
for dedup and audit. What the application keeps of her (a host's roster row) is its own rule.
An admin's retry of a failed delivery sends the body as it now stands.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from federation.models import Delivery, DeliveryState, OutboxActivity
from schemas.activity import PERSONAL_FIELDS


def redacted(body: str) -> str | None:
    """``body`` (an activity as JSON) without its object's personal fields; ``None`` when it
    carries none, so callers write only what changes."""
    try:
        activity = json.loads(body)
    except ValueError:
        return None
    embedded = activity.get("object") if isinstance(activity, dict) else None
    if not isinstance(embedded, dict):
        return None
    present = [
        name for name in PERSONAL_FIELDS.get(embedded.get("type", ""), ()) if name in embedded
    ]
    if not present:
        return None
    for name in present:
        del embedded[name]
    return _compact(activity)


def _compact(value: Any) -> str:
    # The shape of ``federation.outbox.serialize``: no spaces, UTF-8 kept as it is.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


async def forget_delivered(session: AsyncSession, *, delivery_ids: Collection[int]) -> int:
    """Redact the activities of these deliveries once none of their deliveries is pending.

    Called in the transaction that makes a delivery final; returns how many bodies changed.
    """
    if not delivery_ids:
        return 0
    still_pending = (
        select(Delivery.id)
        .where(col(Delivery.activity_pk) == col(OutboxActivity.id))
        .where(col(Delivery.state) == DeliveryState.pending)
        .exists()
    )
    finished = select(Delivery.activity_pk).where(col(Delivery.id).in_(list(delivery_ids)))
    rows = await session.execute(
        select(OutboxActivity)
        .where(col(OutboxActivity.id).in_(finished))
        .where(col(OutboxActivity.object_type).in_(list(PERSONAL_FIELDS)))
        .where(~still_pending)
    )
    return _redact_all(session, rows.scalars())


async def forget_sent(session: AsyncSession, *, object_ids: Collection[str]) -> int:
    """Redact, now, every activity this node sent about these objects, delivered or not.

    For a person's withdrawal or erasure: a delivery still pending then carries only what
    remains (the receiver learns of her commitment without her name or contact, then of her
    withdrawal). Returns how many bodies changed.
    """
    if not object_ids:
        return 0
    rows = await session.execute(
        select(OutboxActivity)
        .where(col(OutboxActivity.object_id).in_(list(object_ids)))
        .where(col(OutboxActivity.object_type).in_(list(PERSONAL_FIELDS)))
    )
    return _redact_all(session, rows.scalars())


def _redact_all(session: AsyncSession, rows: Iterable[OutboxActivity]) -> int:
    changed = 0
    for row in rows:
        body = redacted(row.body)
        if body is not None:
            row.body = body
            session.add(row)
            changed += 1
    return changed
