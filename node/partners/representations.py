"""What partners read: the shared work as OSDI / Action Network / Mobilize clients expect it.

Each representation is built from a row by one mapper (``event_of``, ``forum_of`` ...), so
what a partner sees is decided here and nowhere else. The mappers copy named fields only:
no sign-up, commitment, member, volunteer name, handle or contact ever reaches them (a canvass
call's day-of contact is a person's phone, and is left out too).

Common to every object:

- ``id``: this node's key for the row, for ``GET /api/v1/partner/<kind>/{id}``;
- ``identifiers``: the OSDI array, ``["ipo-node:<object URL>"]``, the same on every node;
- ``origin``: the organization that owns it (its only writer), and whether it is this node,
  an ally, or a former ally;
- ``created_date`` / ``modified_date`` (``modified_date`` is when *this* node last changed or
  received it, which is what ``updated_since`` compares), ISO 8601 in UTC with an offset.

Events, forums and tombstones are here; endorsements, canvass calls and organizations in
``representations_coalition``.

Events, the hot path of the API (50 a page, read by every sync), are mapped straight to the
JSON-ready dict :class:`PartnerEvent` would dump (``event_of``), without building and
validating a model per row: a row of this node's own was checked by the same models on its way
in. The others are built as models.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from node.events.models import Event, LocationPublic, Origin
from node.forums.models import ForumPlan

Relation = Literal["self", "ally", "former_ally"]
_RELATIONS: dict[str, Relation] = {
    "this_node": "self",
    "ally": "ally",
    "former_ally": "former_ally",
}


def identifiers_of(object_id: str) -> list[str]:
    return [f"ipo-node:{object_id}"]


class OrganizationRef(BaseModel):
    """An organization (a node), named."""

    id: str = Field(description="The organization's node URL: its id across the coalition.")
    name: str
    relation: Relation = Field(
        description="`self` (this node), `ally`, or `former_ally` (what it shared before its "
        "alliance ended is kept, and only its public objects are served)."
    )


def origin_ref(node_id: str, origins: Mapping[str, Origin]) -> OrganizationRef:
    return OrganizationRef.model_validate(origin_json(node_id, origins))


def origin_json(node_id: str, origins: Mapping[str, Origin]) -> dict[str, Any]:
    known = origins.get(node_id, Origin(name=node_id, relation="former_ally"))
    return {"id": node_id, "name": known.name, "relation": _RELATIONS[known.relation]}


def location_json(data: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A stored location as :class:`LocationPublic` serializes it, laid out without building
    the model (the list hot path); what was stored is read back, never judged again."""
    location = LocationPublic.stored(data)
    return location.model_dump() if location else None


class SharedObject(BaseModel):
    """The fields every shared object carries (see the module docstring)."""

    id: str = Field(description="This node's key for the object, for the `/{id}` route.")
    identifiers: list[str] = Field(description='OSDI identifiers: `["ipo-node:<object URL>"]`.')
    origin: OrganizationRef
    version: int = Field(description="Bumped by the origin on every change.")
    created_date: datetime
    modified_date: datetime


class PartnerEvent(SharedObject):
    """An event (OSDI / Mobilize names; `wards` and `precincts` are Chicago geography)."""

    title: str
    description: str
    start_date: datetime
    end_date: datetime
    timezone: str = Field(description="IANA time zone the event is held in.")
    location: LocationPublic | None
    virtual_action_url: str | None = Field(description="Where to join online (Mobilize name).")
    status: str = Field(description="`confirmed`, `tentative` or `cancelled`.")
    visibility: str = Field(description="`public` or `coalition`; private is never served.")
    event_type: str
    wards: list[int]
    precincts: list[str]
    capacity: int | None
    series_id: str | None = Field(
        description="The repeating series this event is an occurrence of, on the node that owns "
        "it (occurrences of one series share it); null for a one-off event and for allies' "
        "events."
    )


def event_of(event: Event, *, origins: Mapping[str, Origin]) -> dict[str, Any]:
    """A :class:`PartnerEvent` as the JSON-ready dict its model would dump, keys in its field
    order. Lists are the hot path (50 events a page), and building 50 models only to dump them
    cost more than the query; ``tests/partners`` checks the dict against the model."""
    return {
        "id": event.id,
        "identifiers": identifiers_of(event.object_id),
        "origin": origin_json(event.origin, origins),
        "version": event.version,
        "created_date": event.created_at,
        "modified_date": event.updated_at,
        "title": event.title,
        "description": event.description,
        "start_date": event.start_date,
        "end_date": event.end_date,
        "timezone": event.timezone,
        "location": location_json(event.location),
        "virtual_action_url": event.online_url,
        "status": event.status.value,
        "visibility": event.visibility.value,
        "event_type": event.event_type.value,
        "wards": list(event.wards),
        "precincts": list(event.precincts),
        "capacity": event.capacity,
        "series_id": event.series_id,
    }


class CoHost(BaseModel):
    organization: OrganizationRef
    status: str = Field(description="`invited`, `accepted` or `declined`.")


class ForumRole(BaseModel):
    name: str = Field(description="moderator, timekeeper, interpreter, av, childcare ...")
    assigned_to: OrganizationRef | None


class CandidateInvitation(BaseModel):
    name: str
    race: str
    status: str = Field(description="`invited`, `confirmed`, `declined` or `no_response`.")


class AgendaItem(BaseModel):
    title: str
    position: int
    duration_minutes: int


class PartnerForum(SharedObject):
    """A candidate forum: an event (`event_type` FORUM) with its co-hosts and programme.

    Co-hosts' question submissions and the planning task list are internal to the co-hosts
    and are not served."""

    title: str
    description: str
    start_date: datetime
    end_date: datetime
    timezone: str
    location: LocationPublic | None
    virtual_action_url: str | None
    status: str
    visibility: str
    event_type: Literal["FORUM"] = "FORUM"
    capacity: int | None
    languages: list[str]
    interpretation: str
    accessibility_notes: str
    co_hosts: list[CoHost]
    roles: list[ForumRole]
    candidate_invitations: list[CandidateInvitation]
    agenda_items: list[AgendaItem]


def forum_of(plan: ForumPlan, *, origins: Mapping[str, Origin]) -> PartnerForum:
    def org(node_id: str | None) -> OrganizationRef | None:
        return origin_ref(node_id, origins) if node_id else None

    return PartnerForum(
        id=plan.id,
        identifiers=identifiers_of(plan.object_id),
        origin=origin_ref(plan.origin, origins),
        version=plan.version,
        title=plan.title,
        description=plan.description,
        start_date=plan.start_date,
        end_date=plan.end_date,
        timezone=plan.timezone,
        location=LocationPublic.stored(plan.location),
        virtual_action_url=plan.online_url,
        status=plan.status.value,
        visibility=plan.visibility.value,
        capacity=plan.capacity,
        languages=list(plan.languages),
        interpretation=plan.interpretation,
        accessibility_notes=plan.accessibility_notes,
        co_hosts=[
            CoHost(organization=origin_ref(c["node"], origins), status=c["status"])
            for c in plan.co_hosts
        ],
        roles=[
            ForumRole(name=r["name"], assigned_to=org(r.get("assigned_to"))) for r in plan.roles
        ],
        candidate_invitations=[
            CandidateInvitation(name=c["name"], race=c["race"], status=c["status"])
            for c in plan.candidate_invitations
        ],
        agenda_items=[
            AgendaItem(
                title=a["title"], position=a["position"], duration_minutes=a["duration_minutes"]
            )
            for a in sorted(plan.agenda_items, key=lambda item: item["position"])
        ],
        created_date=plan.created_at,
        modified_date=plan.updated_at,
    )


# Campaign stays in this module: another domain has a model of the same name, so the OpenAPI
# schema names this one by its module path (node__partners__representations__Campaign).
class Campaign(BaseModel):
    kind: str = Field(description="`candidate` or `referendum`.")
    name: str


class DeletedObject(BaseModel):
    """A tombstone (Mobilize `deleted`): drop this object from your copy."""

    id: str = Field(description="The key it was served under.")
    identifiers: list[str]
    object_type: Literal["event", "forum", "endorsement", "canvass_call"]
    origin: OrganizationRef
    version: int = Field(description="The origin's version at deletion.")
    deleted_date: datetime


def deleted_event(event: Event, *, origins: Mapping[str, Origin]) -> DeletedObject:
    return DeletedObject(
        id=event.id,
        identifiers=identifiers_of(event.object_id),
        object_type="event",
        origin=origin_ref(event.origin, origins),
        version=event.version,
        deleted_date=event.deleted_at or event.updated_at,
    )
