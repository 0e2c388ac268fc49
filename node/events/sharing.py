"""Events across the coalition: what allies receive, and how their events are kept here.

This node's ``public`` and ``coalition`` events go to every active ally whose alliance covers
``events``: ``Create`` for a new event, ``Update`` for every later change (and for an event
that becomes shared), ``Delete`` when it is deleted or made ``private``. The activity is
enqueued in the same transaction as the change.

Allies' events are kept as replicas in the same ``event`` table, with their origin; they are
read-only here and change only through their origin's activities.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from federation.errors import OriginMismatch
from federation.handlers import AllianceChange, HandlerRegistry
from federation.models import AllianceState, Peer
from federation.outbox import allies_sharing, build_activity, enqueue
from federation.peers import list_peers
from federation.replicas import bury, is_buried, is_newer, lift
from federation.storage import utcnow
from node.config import Settings
from node.events import repository
from node.events.models import (
    Event,
    EventStatus,
    EventType,
    Origin,
    OriginRelation,
    Visibility,
)
from node.webhooks import triggers as webhooks
from schemas import event as wire
from schemas.activity import Activity, ActivityType, Tombstone
from schemas.base import Location

SCOPE = "events"
SHARED_VISIBILITIES = (Visibility.public, Visibility.coalition)


async def origins(session: AsyncSession, *, settings: Settings) -> dict[str, Origin]:
    """Every event owner this node knows: itself and its peers, by node id (one query)."""
    known = {settings.public_url: Origin(name=settings.name, relation="this_node")}
    for peer in await list_peers(session):
        relation: OriginRelation = "former_ally" if peer.state is AllianceState.ended else "ally"
        known[peer.node_id] = Origin(name=peer.name, relation=relation)
    return known


def is_shared(event: Event) -> bool:
    """Whether allies should hold this event now."""
    return event.deleted_at is None and event.visibility in SHARED_VISIBILITIES


def to_wire(event: Event) -> wire.Event:
    """The event as allies receive it (only what is meant to be shared)."""
    return wire.Event(
        type="Event",
        schema_version=1,
        id=event.object_id,
        attributed_to=event.origin,
        version=event.version,
        title=event.title,
        description=event.description,
        start_date=event.start_date,
        end_date=event.end_date,
        timezone=event.timezone,
        location=Location.model_validate(event.location) if event.location else None,
        online_url=event.online_url,
        event_type=wire.EventType(event.event_type.value),
        status=wire.EventStatus(event.status.value),
        visibility=event.visibility.value,
        capacity=event.capacity,
        wards=event.wards,
        precincts=event.precincts,
        created_date=event.created_at,
        modified_date=event.updated_at,
    )


async def share_change(
    session: AsyncSession, *, event: Event, was_shared: bool, settings: Settings
) -> None:
    """Tell allies about a change to one of our events, in the caller's transaction."""
    recipients = await allies_sharing(session, scope=SCOPE)
    if not recipients:
        return
    node_id = settings.public_url
    to = [peer.node_id for peer in recipients]
    if is_shared(event):
        verb: ActivityType = "Create" if event.version == 1 else "Update"
        activity = build_activity(node_id=node_id, type=verb, object=to_wire(event), to=to)
    elif was_shared:
        tombstone = Tombstone(
            type="Tombstone",
            id=event.object_id,
            former_type="Event",
            version=event.version,
            deleted=utcnow(),
        )
        activity = build_activity(node_id=node_id, type="Delete", object=tombstone, to=to)
    else:
        return
    await enqueue(session, activity=activity, recipients=recipients)


def register(registry: HandlerRegistry, *, settings: Settings) -> None:
    """Install this domain's inbox handlers and its alliance backfill."""
    registry.handle("Create", "Event")(apply_event)
    registry.handle("Update", "Event")(apply_event)
    registry.handle("Delete", "Tombstone")(delete_event)

    @registry.on_alliance_change
    async def backfill(session: AsyncSession, change: AllianceChange) -> None:
        if not change.began or SCOPE not in change.peer.scopes:
            return
        events = await repository.shared_local_events(session, origin=settings.public_url)
        for event in events:
            activity = build_activity(
                node_id=settings.public_url,
                type="Create",
                object=to_wire(event),
                to=[change.peer.node_id],
            )
            await enqueue(session, activity=activity, recipients=[change.peer])


async def apply_event(session: AsyncSession, activity: Activity, peer: Peer) -> None:
    """Keep an ally's event: apply it only if newer than ours and never after its deletion."""
    incoming = activity.object
    if not isinstance(incoming, wire.Event):
        return
    if incoming.attributed_to != peer.node_id:
        raise OriginMismatch("An event can only come from the node it is attributed to.")
    if await is_buried(session, object_id=incoming.id, version=incoming.version):
        return
    replica = await repository.get_by_object_id(session, object_id=incoming.id)
    if replica is not None:
        if replica.origin != peer.node_id:
            raise OriginMismatch("That event belongs to another node.")
        if not is_newer(incoming.version, replica.version):
            return
    fields = _replica_fields(incoming)
    new = replica is None
    was_cancelled = replica is not None and replica.status is EventStatus.cancelled
    if replica is None:
        replica = Event(object_id=incoming.id, origin=peer.node_id, created_at=utcnow(), **fields)
    else:
        for name, value in fields.items():
            setattr(replica, name, value)
        replica.deleted_at = None  # a newer version than its deletion: shared again
    await lift(session, object_id=incoming.id)
    session.add(replica)
    await session.flush()
    await repository.replace_event_wards(session, event_id=replica.id, wards=replica.wards)
    change = webhooks.event_change(replica, new=new, was_cancelled=was_cancelled)
    await webhooks.notify(session, event_type=change, object=replica)


def _replica_fields(incoming: wire.Event) -> dict[str, Any]:
    location = incoming.location
    return {
        "title": incoming.title,
        "description": incoming.description,
        "start_date": incoming.start_date,
        "end_date": incoming.end_date,
        "timezone": incoming.timezone,
        "location": location.model_dump(mode="json", exclude_none=True) if location else None,
        "online_url": incoming.online_url,
        "event_type": EventType(incoming.event_type.value),
        "status": EventStatus(incoming.status.value),
        "visibility": Visibility(incoming.visibility),
        "capacity": incoming.capacity,
        "wards": list(incoming.wards),
        "precincts": list(incoming.precincts),
        "version": incoming.version,
        "updated_at": utcnow(),
    }


async def delete_event(session: AsyncSession, activity: Activity, peer: Peer) -> None:
    """An ally deleted its event: bury it, and mark our replica deleted."""
    tombstone = activity.object
    if not isinstance(tombstone, Tombstone) or tombstone.former_type != "Event":
        return
    replica = await repository.get_by_object_id(session, object_id=tombstone.id)
    if replica is not None and replica.origin != peer.node_id:
        raise OriginMismatch("That event belongs to another node.")
    if replica is not None and not is_newer(tombstone.version, replica.version):
        return  # an older deletion than what we hold: the event was shared again since
    await bury(
        session,
        object_id=tombstone.id,
        origin=peer.node_id,
        former_type="Event",
        version=tombstone.version,
        deleted_at=tombstone.deleted,
    )
    if replica is not None:
        replica.version = tombstone.version
        replica.deleted_at = utcnow()
        replica.updated_at = utcnow()
        session.add(replica)
