"""The shared ``Event``: rallies, strike support, petition drives, mutual aid, meetings.

Field names follow OSDI / Action Network / Mobilize, plus Chicago geography (``wards``,
``precincts``). An event has one origin node, its only writer: the origin bumps ``version`` on
every change and sends ``Update``; receivers apply an update only if its version is higher.

Only ``public`` and ``coalition`` events cross the wire. ``private`` exists on a node but has
no wire form, so a private event cannot be sent by mistake: it would not validate.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, Field, model_validator

from schemas.base import (
    AbsoluteUrl,
    Count,
    Location,
    NodeId,
    NonBlankLine,
    ObjectId,
    Precinct,
    Text,
    Timestamp,
    Version,
    Wards,
    WireModel,
)
from schemas.origin import same_origin

DEFAULT_TIMEZONE = "America/Chicago"


class EventType(StrEnum):
    """What kind of event it is."""

    MEETING = "MEETING"
    CANVASS = "CANVASS"
    PHONE_BANK = "PHONE_BANK"
    RALLY = "RALLY"
    FORUM = "FORUM"
    FUNDRAISER = "FUNDRAISER"
    TRAINING = "TRAINING"
    STRIKE_SUPPORT = "STRIKE_SUPPORT"
    PETITION_DRIVE = "PETITION_DRIVE"
    MUTUAL_AID = "MUTUAL_AID"
    SOCIAL = "SOCIAL"
    OTHER = "OTHER"


class EventStatus(StrEnum):
    """Whether the event is going ahead."""

    CONFIRMED = "confirmed"
    TENTATIVE = "tentative"
    CANCELLED = "cancelled"


WireVisibility = Literal["public", "coalition"]
"""Who may see an object that crosses the wire: anyone, or allies (and partners) in scope."""


def _check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{name!r} is not an IANA time zone name") from exc
    return name


TimeZoneName = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_check_timezone)]
"""An IANA time zone name, for example ``America/Chicago``."""


class Event(WireModel):
    """An event shared between allied nodes.

    Rules a JSON Schema cannot express, which receivers enforce: ``end_date`` is not before
    ``start_date``; ``modified_date`` is not before ``created_date``; ``timezone`` is an IANA
    zone name; ``id`` has the same origin as ``attributed_to``.
    """

    type: Literal["Event"]
    """The object type."""
    schema_version: Literal[1]
    """The version of this object's schema."""
    id: ObjectId
    """The event's URL on its origin node."""
    attributed_to: NodeId
    """The origin node: the event's only writer."""
    version: Version
    """Bumped by the origin on every change; receivers keep the highest they have seen."""
    title: NonBlankLine = Field(min_length=1, max_length=200)
    """The event's name."""
    description: Text = Field(default="", max_length=10_000)
    """What happens, in plain text."""
    start_date: Timestamp
    """When it starts."""
    end_date: Timestamp
    """When it ends; not before ``start_date``."""
    timezone: TimeZoneName = DEFAULT_TIMEZONE
    """The IANA zone the event is held in, for display."""
    location: Location | None = None
    """Where it is held, if anywhere."""
    online_url: AbsoluteUrl | None = None
    """Where to join online, if it is online."""
    event_type: EventType
    """What kind of event it is."""
    status: EventStatus = EventStatus.CONFIRMED
    """Whether it is going ahead."""
    visibility: WireVisibility
    """Who may see it."""
    capacity: Count | None = None
    """How many people can attend; absent when there is no limit."""
    wards: Wards = Field(default_factory=list)
    """The wards the event concerns."""
    precincts: list[Precinct] = Field(default_factory=list)
    """The precincts the event concerns, as the origin names them."""
    created_date: Timestamp
    """When the origin created the event."""
    modified_date: Timestamp
    """When the origin last changed it."""

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.end_date < self.start_date:
            raise ValueError("end_date must not be before start_date")
        if self.modified_date < self.created_date:
            raise ValueError("modified_date must not be before created_date")
        if not same_origin(self.id, self.attributed_to):
            raise ValueError(
                "an event's id must be under the origin of the node it is attributed to"
            )
        return self
