"""Every select of the partner API: what a partner may read, filtered and in a stable order.

What a partner sees of each kind (its scope granted):

- events and forums: this node's and its allies' objects that are ``public`` or ``coalition``;
  of a *former* ally's replicas (kept when the alliance ended) or any other origin, only the
  ``public`` ones. ``private`` is never served. Deleted events are served only by the deleted
  feed.
- endorsements and canvass calls carry no visibility: they are coalition work, shared with the
  allies they concern. Served when they are this node's (drafts never) or a current ally's.

"Current ally" is a peer whose alliance is ``active`` or ``suspended`` (suspension pauses
delivery; what was received is still the coalition's). An ``ended`` alliance makes a former
ally.

Lists are ordered by (``updated_at``, ``id``), i.e. ``modified_date`` then ``id``, whatever the
filters: a client that keeps the last ``modified_date`` it saw can resume with
``updated_since``, and keyset pagination never repeats or skips a row.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, String, and_, exists, false, or_, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlmodel import col

from federation.models import AllianceState, Peer
from federation.peers import list_peers
from node.canvass.models import CallStatus, CampaignKind, CanvassCall, CanvassReport, CanvassShift
from node.config import Settings
from node.endorsements.models import Endorsement, EndorsementSignatureRecord, EndorsementState
from node.endorsements.sharing import CHICAGO
from node.events.models import (
    Event,
    EventStatus,
    EventType,
    EventWard,
    Origin,
    OriginRelation,
    Visibility,
)
from node.forums.models import ForumPlan

SHARED = (Visibility.public, Visibility.coalition)
CURRENT_ALLIANCE = (AllianceState.active, AllianceState.suspended)


@dataclass(frozen=True)
class Filters:
    """The list filters; ``None`` means any. Not every kind uses every filter."""

    updated_since: datetime | None = None
    start_after: datetime | None = None
    start_before: datetime | None = None
    types: tuple[str, ...] = ()
    ward: int | None = None
    origin: str | None = None
    status: str | None = None


@dataclass(frozen=True)
class Known:
    """Every origin this node can name, and the ones whose coalition objects are served
    (this node and its current allies)."""

    origins: dict[str, Origin]
    trusted: tuple[str, ...]


async def known_origins(session: AsyncSession, *, settings: Settings) -> Known:
    peers = await list_peers(session)
    origins = {settings.public_url: Origin(name=settings.name, relation="this_node")}
    for peer in peers:
        relation: OriginRelation = "former_ally" if peer.state is AllianceState.ended else "ally"
        origins[peer.node_id] = Origin(name=peer.name, relation=relation)
    trusted = (settings.public_url, *(p.node_id for p in peers if p.state in CURRENT_ALLIANCE))
    return Known(origins=origins, trusted=trusted)


async def current_allies(session: AsyncSession) -> list[Peer]:
    return [peer for peer in await list_peers(session) if peer.state in CURRENT_ALLIANCE]


def ordering(model: Any) -> list[InstrumentedAttribute[Any]]:
    return [cast("InstrumentedAttribute[Any]", column) for column in (model.updated_at, model.id)]


def _visible(model: Any, trusted: Collection[str]) -> ColumnElement[bool]:
    return or_(
        col(model.visibility) == Visibility.public,
        and_(col(model.visibility) == Visibility.coalition, col(model.origin).in_(list(trusted))),
    )


def _common(query: Select[Any], model: Any, filters: Filters) -> Select[Any]:
    if filters.updated_since is not None:
        query = query.where(col(model.updated_at) >= filters.updated_since)
    if filters.origin is not None:
        query = query.where(col(model.origin) == filters.origin.rstrip("/"))
    return query


def _dates(query: Select[Any], column: Any, filters: Filters) -> Select[Any]:
    if filters.start_after is not None:
        query = query.where(column >= filters.start_after)
    if filters.start_before is not None:
        query = query.where(column < filters.start_before)
    return query


def events(*, trusted: Collection[str], filters: Filters) -> Select[Any]:
    query = select(Event).where(col(Event.deleted_at).is_(None), _visible(Event, trusted))
    query = _dates(_common(query, Event, filters), col(Event.start_date), filters)
    if filters.types:
        query = query.where(col(Event.event_type).in_([EventType(t) for t in filters.types]))
    if filters.ward is not None:
        in_ward = select(col(EventWard.event_id)).where(col(EventWard.ward) == filters.ward)
        query = query.where(col(Event.id).in_(in_ward))
    if filters.status is not None:
        query = query.where(col(Event.status) == EventStatus(filters.status))
    return query


def forums(*, trusted: Collection[str], filters: Filters) -> Select[Any]:
    query = select(ForumPlan).where(_visible(ForumPlan, trusted))
    query = _dates(_common(query, ForumPlan, filters), col(ForumPlan.start_date), filters)
    if filters.status is not None:
        query = query.where(col(ForumPlan.status) == EventStatus(filters.status))
    return query


def endorsements(*, trusted: Collection[str], filters: Filters, now: datetime) -> Select[Any]:
    query = select(Endorsement).where(
        col(Endorsement.state) != EndorsementState.draft,
        col(Endorsement.origin).in_(list(trusted)),
    )
    query = _common(query, Endorsement, filters)
    election = col(Endorsement.election_date)
    if filters.start_after is not None:
        query = query.where(election >= filters.start_after.astimezone(CHICAGO).date())
    if filters.start_before is not None:
        query = query.where(election < filters.start_before.astimezone(CHICAGO).date())
    if filters.types:
        query = query.where(col(Endorsement.office).in_(list(filters.types)))
    if filters.status is not None:
        query = query.where(_endorsement_status(filters.status, now))
    return query


def _endorsement_status(status: str, now: datetime) -> ColumnElement[bool]:
    """The computed status as SQL: ``expired`` is collecting past its deadline or election
    day (as ``node.endorsements.sharing.status_of`` decides it on read)."""
    today = now.astimezone(CHICAGO).date()
    past = or_(col(Endorsement.deadline) < now, col(Endorsement.election_date) < today)
    collecting = col(Endorsement.state) == EndorsementState.collecting
    if status == "expired":
        return and_(collecting, past)
    if status == "collecting":
        return and_(collecting, ~past)
    if status in (EndorsementState.ratified, EndorsementState.withdrawn):
        return col(Endorsement.state) == EndorsementState(status)
    return false()


def canvass_calls(*, trusted: Collection[str], filters: Filters) -> Select[Any]:
    query = select(CanvassCall).where(col(CanvassCall.origin).in_(list(trusted)))
    query = _common(query, CanvassCall, filters)
    if filters.start_after is not None or filters.start_before is not None:
        shift = select(col(CanvassShift.id)).where(col(CanvassShift.call_id) == col(CanvassCall.id))
        query = query.where(exists(_dates(shift, col(CanvassShift.start_date), filters)))
    if filters.types:
        query = query.where(
            col(CanvassCall.campaign_kind).in_([CampaignKind(t) for t in filters.types])
        )
    if filters.status is not None:
        query = query.where(col(CanvassCall.status) == CallStatus(filters.status))
    if filters.ward is not None:
        query = query.where(_json_list_has(col(CanvassCall.wards), filters.ward))
    return query


def _json_list_has(column: Any, number: int) -> ColumnElement[bool]:
    """Whether a JSON list of integers holds ``number``, portably: the list is stored as the
    text ``json.dumps`` wrote (``[3, 33]``) on both SQLite and PostgreSQL's ``json`` type."""
    text = sql_cast(column, String)
    return or_(
        *(
            text.like(pattern)
            for pattern in (f"[{number}]", f"[{number},%", f"%, {number},%", f"%, {number}]")
        )
    )


def deleted_events(*, trusted: Collection[str], since: datetime | None) -> Select[Any]:
    """Events deleted (here, or by their origin for a replica) that a partner with
    ``events:read`` could have read before: never a private one."""
    query = select(Event).where(col(Event.deleted_at).is_not(None), _visible(Event, trusted))
    if since is not None:
        query = query.where(col(Event.deleted_at) >= since)
    return query


def deleted_ordering() -> list[InstrumentedAttribute[Any]]:
    return [cast("InstrumentedAttribute[Any]", column) for column in (Event.deleted_at, Event.id)]


async def by_id(session: AsyncSession, query: Select[Any], model: Any, row_id: str) -> Any:
    """One row of a list query by its key, or ``None`` (hidden and missing look the same)."""
    result = await session.execute(query.where(col(model.id) == row_id))
    return result.scalar_one_or_none()


async def signatures_of(
    session: AsyncSession, *, endorsement_ids: Collection[str]
) -> dict[str, list[EndorsementSignatureRecord]]:
    found: dict[str, list[EndorsementSignatureRecord]] = {key: [] for key in endorsement_ids}
    if found:
        record = EndorsementSignatureRecord
        result = await session.execute(
            select(record)
            .where(col(record.endorsement_id).in_(list(found)))
            .order_by(col(record.signer))
        )
        for row in result.scalars():
            found[row.endorsement_id].append(row)
    return found


async def reports_of(
    session: AsyncSession, *, call_ids: Collection[str]
) -> dict[str, list[CanvassReport]]:
    found: dict[str, list[CanvassReport]] = {key: [] for key in call_ids}
    if found:
        result = await session.execute(
            select(CanvassReport)
            .where(col(CanvassReport.call_id).in_(list(found)))
            .order_by(col(CanvassReport.published_at), col(CanvassReport.id))
        )
        for row in result.scalars():
            found[row.call_id].append(row)
    return found
