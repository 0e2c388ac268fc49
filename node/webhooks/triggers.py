"""What the domains call when something a partner may hear about changes: ``notify``.

    await webhooks.notify(session, event_type="event.updated", object=event)

It runs inside the domain's own transaction and writes one ``webhook_delivery`` row per
enabled subscription that asked for ``event_type`` and whose client still holds the read
scope (a transactional outbox: the change and the promise to tell partners commit together
or not at all). The worker sends them afterwards.

The message is thin, per Standard Webhooks: which object changed and where to read it, never
the object itself, so nothing reaches a partner that its read scope and the object's
visibility would not let it read anyway. Private objects are never announced; endorsements
and canvass calls, which have no visibility of their own, are coalition objects.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from federation.storage import utcnow
from node.canvass.models import CanvassCall, CanvassShift
from node.endorsements.models import Endorsement, EndorsementState
from node.events.models import Event, EventStatus, Visibility
from node.forums.models import ForumPlan
from node.partners.models import PartnerClient
from node.webhooks.models import (
    WebhookDelivery,
    WebhookEventType,
    WebhookSubscription,
    new_message_id,
    scope_needed,
)

Notifiable = Event | Endorsement | ForumPlan | CanvassCall
OBJECT_TYPES: dict[type[Any], str] = {
    Event: "Event",
    Endorsement: "JointEndorsement",
    ForumPlan: "ForumPlan",
    CanvassCall: "CanvassCall",
}
# Where the partner API (node.partners.resources) serves each kind, by this node's row id.
API_PATHS: dict[type[Any], str] = {
    Event: "/api/v1/partner/events/{id}",
    Endorsement: "/api/v1/partner/endorsements/{id}",
    ForumPlan: "/api/v1/partner/forums/{id}",
    CanvassCall: "/api/v1/partner/canvass_calls/{id}",
}


def event_change(event: Event, *, new: bool, was_cancelled: bool) -> WebhookEventType:
    """Which message a change to an event is: created, cancelled (just now) or updated."""
    if new:
        return "event.created"
    if event.status is EventStatus.cancelled and not was_cancelled:
        return "event.cancelled"
    return "event.updated"


ENDORSEMENT_CHANGES: dict[EndorsementState, WebhookEventType] = {
    EndorsementState.ratified: "endorsement.ratified",
    EndorsementState.withdrawn: "endorsement.withdrawn",
}


async def endorsement_changed(
    session: AsyncSession, *, endorsement: Endorsement, before: EndorsementState | None
) -> int:
    """``endorsement.ratified`` / ``.withdrawn`` when the status has just become that."""
    change = ENDORSEMENT_CHANGES.get(endorsement.state)
    if change is None or endorsement.state is before:
        return 0
    return await notify(session, event_type=change, object=endorsement)


def visibility_of(thing: Notifiable) -> Visibility:
    if isinstance(thing, Event | ForumPlan):
        return thing.visibility
    return Visibility.coalition


def message_data(thing: Notifiable, *, shift: CanvassShift | None = None) -> dict[str, Any]:
    """The ``data`` of a message: ids, version and visibility of the object; nothing else.

    ``id`` is the object's global id (the same on every node); ``api_path`` is where the
    partner API of the node that sent the message serves it, relative to that node (the
    domains that call ``notify`` from an inbox handler do not know this node's own URL).
    """
    data: dict[str, Any] = {
        "id": thing.object_id,
        "object_type": OBJECT_TYPES[type(thing)],
        "version": thing.version,
        "origin": thing.origin,
        "visibility": visibility_of(thing).value,
        "api_path": API_PATHS[type(thing)].format(id=thing.id),
    }
    if shift is not None:
        data.update(
            id=shift.object_id,
            object_type="CanvassShift",
            call=thing.object_id,
            capacity=shift.capacity,
            committed=shift.committed,
        )
    return data


async def notify(
    session: AsyncSession,
    *,
    event_type: WebhookEventType,
    object: Notifiable,
    shift: CanvassShift | None = None,
) -> int:
    """Queue ``event_type`` about ``object`` (``shift``: the shift of a call that filled)
    for every subscription that wants it; returns how many messages were queued."""
    if visibility_of(object) is Visibility.private:
        return 0
    if isinstance(object, Event) and object.deleted_at is not None:
        return 0
    subscriptions = await _subscribers(session, event_type=event_type)
    if not subscriptions:
        return 0
    now = utcnow()
    body = {
        "type": event_type,
        "timestamp": now.isoformat(),
        "data": message_data(object, shift=shift),
    }
    payload = json.dumps(body, separators=(",", ":"))
    message_id = new_message_id()
    for subscription in subscriptions:
        if subscription.id is None:
            continue
        session.add(
            WebhookDelivery(
                subscription_id=subscription.id,
                message_id=message_id,
                event_type=event_type,
                payload=payload,
                created_at=now,
                next_attempt_at=now,
            )
        )
    await session.flush()
    return len(subscriptions)


async def _subscribers(session: AsyncSession, *, event_type: str) -> Sequence[WebhookSubscription]:
    """Enabled subscriptions to ``event_type`` of usable clients that hold its read scope.

    Event types are a JSON list, filtered here rather than in SQL (JSON containment differs
    between SQLite and PostgreSQL); a node has a handful of subscriptions.
    """
    now = utcnow()
    result = await session.execute(
        select(WebhookSubscription, PartnerClient)
        .join(PartnerClient, col(PartnerClient.client_id) == col(WebhookSubscription.client_id))
        .where(col(WebhookSubscription.disabled_at).is_(None))
        .order_by(col(WebhookSubscription.id))
    )
    needed = scope_needed(event_type)
    return [
        subscription
        for subscription, client in result
        if event_type in subscription.event_types
        and needed in client.scopes
        and client.is_usable(now=now)
    ]
