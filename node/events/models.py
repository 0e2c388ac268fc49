"""Tables and API shapes of the events domain.

Field names follow OSDI (``title``, ``start_date``, ``created_date`` ...) so that the same shape
can later travel between allied nodes. The table is laid out for federation already: ``id`` is
a local UUID, ``object_id`` is the global URL of the event, ``origin`` is the node that owns it
and is its only writer. Replicas of allies' events will live in this table with their origin.
"""

from __future__ import annotations

import enum
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Annotated, Any, Literal, Self
from zoneinfo import available_timezones

import sqlalchemy as sa
from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic import Field as PydanticField
from sqlmodel import Field, SQLModel

from federation.storage import enum_column, utc_column, utcnow
from node.text import FREE_TEXT, ONE_LINE
from schemas import base as wire

logger = logging.getLogger(__name__)


class EventType(enum.StrEnum):
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


class EventStatus(enum.StrEnum):
    confirmed = "confirmed"
    tentative = "tentative"
    cancelled = "cancelled"


class Visibility(enum.StrEnum):
    """Who may see an object: anyone, this node's members and allies, or this node only."""

    public = "public"
    coalition = "coalition"
    private = "private"


DEFAULT_TIMEZONE = "America/Chicago"
END_BEFORE_START = "The end is before the start: choose an end at or after the start."
# A forgotten `visibility` must not publish an event to the open web (anonymous API, ICS
# feed), and `private` would hide it from the members and allies it is usually meant for.
DEFAULT_VISIBILITY = Visibility.coalition


def new_event_id() -> str:
    return str(uuid.uuid4())


class Event(SQLModel, table=True):
    __tablename__ = "event"

    id: str = Field(default_factory=new_event_id, primary_key=True, max_length=36)
    object_id: str = Field(max_length=512, sa_column_kwargs={"unique": True})
    origin: str = Field(max_length=512, index=True)
    title: str = Field(max_length=200)
    description: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False))
    start_date: datetime = Field(sa_column=utc_column(index=True))
    end_date: datetime = Field(sa_column=utc_column())
    timezone: str = Field(default=DEFAULT_TIMEZONE, max_length=64)
    location: dict[str, Any] | None = Field(
        default=None, sa_column=sa.Column(sa.JSON, nullable=True)
    )
    online_url: str | None = Field(default=None, max_length=2048)
    event_type: EventType = Field(sa_column=sa.Column(enum_column(EventType), nullable=False))
    status: EventStatus = Field(
        default=EventStatus.confirmed,
        sa_column=sa.Column(enum_column(EventStatus), nullable=False),
    )
    capacity: int | None = Field(default=None)
    visibility: Visibility = Field(
        default=DEFAULT_VISIBILITY,
        sa_column=sa.Column(enum_column(Visibility), nullable=False),
    )
    wards: list[int] = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))
    precincts: list[str] = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))
    version: int = Field(default=1)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(index=True))
    deleted_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    # Null for replicas of allies' events: their authors are users of another node.
    created_by: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    # The repeating event this one is an occurrence of; null for one-off events and replicas
    # (a series is this node's way of making events, allies receive ordinary events).
    series_id: str | None = Field(
        default=None, foreign_key="event_series.id", max_length=36, index=True, ondelete="SET NULL"
    )
    # Why it was called off, as the organizer wrote it; null unless cancelled.
    cancellation_reason: str | None = Field(default=None, sa_column=sa.Column(sa.Text))

    __table_args__ = (
        sa.CheckConstraint("end_date >= start_date", name="end_after_start"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
        sa.CheckConstraint("capacity IS NULL OR capacity >= 0", name="capacity_not_negative"),
    )

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class EventSeries(SQLModel, table=True):
    """A repeating event: its rule, as an RFC 5545 ``RRULE`` value (``FREQ=WEEKLY;COUNT=10``).

    The occurrences are ordinary ``event`` rows pointing here, made when the series is; the
    rule says how they were made (and reads back as "every week, 10 times"), it is not
    expanded again. The first occurrence's start is the rule's ``DTSTART``.
    """

    __tablename__ = "event_series"

    id: str = Field(default_factory=new_event_id, primary_key=True, max_length=36)
    rule: str = Field(max_length=512)
    created_by: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class EventWard(SQLModel, table=True):
    """One row per ward of an event: a lookup index of ``event.wards``.

    JSON containment is written differently on SQLite and PostgreSQL; a plain table makes the
    ward filter one portable, indexed query. The service writes it whenever ``wards`` changes.
    """

    __tablename__ = "event_ward"

    event_id: str = Field(
        foreign_key="event.id", primary_key=True, max_length=36, ondelete="CASCADE"
    )
    ward: int = Field(primary_key=True, index=True)


# ---- API shapes -----------------------------------------------------------------------------


@cache
def _timezone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def _known_timezone(value: str) -> str:
    if value not in _timezone_names():
        raise ValueError(f"{value!r} is not an IANA time zone name such as America/Chicago")
    return value


def _distinct_sorted(value: list[Any]) -> list[Any]:
    return sorted(set(value))


Title = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    ONE_LINE,
]
Description = Annotated[str, PydanticField(max_length=10_000), FREE_TEXT]
TimeZoneName = Annotated[str, PydanticField(max_length=64), AfterValidator(_known_timezone)]
Ward = Annotated[int, PydanticField(ge=1, le=50)]
Wards = Annotated[list[Ward], PydanticField(max_length=50), AfterValidator(_distinct_sorted)]
# What a user may write is what may be sent: the wire's types and bounds, after trimming.
Precinct = Annotated[wire.Precinct, StringConstraints(strip_whitespace=True)]
Precincts = Annotated[
    list[Precinct], PydanticField(max_length=200), AfterValidator(_distinct_sorted)
]
Capacity = wire.Count
OnlineUrl = Annotated[AnyHttpUrl, PydanticField(max_length=2048)]


def _trimmed(value: Any) -> Any:
    """``value`` with the spaces around each of its texts removed."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list):
        return [_trimmed(item) for item in value]
    if isinstance(value, dict):
        return {key: _trimmed(item) for key, item in value.items()}
    return value


class Location(wire.Location):
    """Where an event happens (OSDI location), with the wire's rules exactly: whatever a user
    may enter here can be sent to allies, and whatever an ally may send reads back."""

    model_config = ConfigDict(frozen=False)

    @model_validator(mode="before")
    @classmethod
    def _trim(cls, data: Any) -> Any:
        return _trimmed(data)


class GeoPointPublic(BaseModel):
    latitude: float
    longitude: float


class StoredShape(BaseModel):
    """A shape read back from a JSON column: what was stored, never judged again.

    Stored values passed the rules of their day (this node's forms, or an ally's wire
    object), and an older day's rules were looser. A read must not fail on what an older
    version accepted, so these shapes have types and no rules."""

    @classmethod
    def stored(cls, value: Mapping[str, Any] | None) -> Self | None:
        """``value`` as read back. A stored value of the wrong shape reads as none, and is
        logged, rather than failing the whole list it is in."""
        if not value:
            return None
        try:
            return cls.model_validate(value)
        except ValidationError:
            logger.warning("a stored %s is not shaped like one: %r", cls.__name__, value)
            return None


class LocationPublic(StoredShape):
    """A stored location as callers read it."""

    venue: str | None = None
    address_lines: list[str] = PydanticField(default_factory=list)
    locality: str | None = None
    region: str | None = None
    postal_code: str | None = None
    location: GeoPointPublic | None = None


class EventCreate(BaseModel):
    """A new event. Times must carry an offset (``Z`` or ``-06:00``): a naive time is refused
    rather than guessed, since a guess is wrong by an hour around DST changes."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    description: Description = ""
    start_date: AwareDatetime
    end_date: AwareDatetime
    timezone: TimeZoneName = DEFAULT_TIMEZONE
    location: Location | None = None
    online_url: OnlineUrl | None = None
    event_type: EventType
    status: EventStatus = EventStatus.confirmed
    capacity: Capacity | None = None
    visibility: Visibility = PydanticField(
        default=DEFAULT_VISIBILITY,
        description="Defaults to `coalition`: an event is public only when someone says so.",
    )
    wards: Wards = PydanticField(default_factory=list)
    precincts: Precincts = PydanticField(default_factory=list)

    @field_validator("end_date")
    @classmethod
    def _ends_after_start(cls, end: datetime, info: ValidationInfo) -> datetime:
        # A field check, not a model check: the error is then the end field's, shown beside it.
        start = info.data.get("start_date")
        if start is not None and end < start:
            raise ValueError(END_BEFORE_START)
        return end


# Fields an update may omit but never set to null: the table has no "unknown" for them.
_REQUIRED_ON_UPDATE = frozenset(
    {
        "title",
        "description",
        "start_date",
        "end_date",
        "timezone",
        "event_type",
        "status",
        "visibility",
        "wards",
        "precincts",
    }
)


class EventUpdate(BaseModel):
    """A partial update: only the fields sent change. ``null`` clears the optional fields
    (``location``, ``online_url``, ``capacity``) and is refused for the others. A list or a
    ``location`` sent replaces the old one whole; it is not merged."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    description: Description | None = None
    start_date: AwareDatetime | None = None
    end_date: AwareDatetime | None = None
    timezone: TimeZoneName | None = None
    location: Location | None = None
    online_url: OnlineUrl | None = None
    event_type: EventType | None = None
    status: EventStatus | None = None
    capacity: Capacity | None = None
    visibility: Visibility | None = None
    wards: Wards | None = None
    precincts: Precincts | None = None

    @model_validator(mode="after")
    def _no_null_for_required_fields(self) -> EventUpdate:
        nulled = sorted(
            name
            for name in self.model_fields_set & _REQUIRED_ON_UPDATE
            if getattr(self, name) is None
        )
        if nulled:
            raise ValueError(f"{', '.join(nulled)} cannot be null; leave it out to keep it")
        return self


CancellationReason = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=1000), FREE_TEXT
]


class EventCancel(BaseModel):
    """Why an event is called off (optional): kept with the event, shown where it is listed."""

    model_config = ConfigDict(extra="forbid")

    reason: CancellationReason = ""


MAX_OCCURRENCES = 104
"""The most occurrences one series makes: two years of a weekly event."""


class Repeat(enum.StrEnum):
    """How a series repeats, in the event's own time zone (18:00 stays 18:00 across DST)."""

    weekly = "weekly"
    every_two_weeks = "every_two_weeks"
    monthly_weekday = "monthly_weekday"
    """Every month on the same weekday as the first: the 2nd Tuesday, the last Friday."""


class SeriesCreate(EventCreate):
    """A repeating event: the first occurrence's fields, how it repeats, and until when
    (``until``, a date in the event's time zone, included) or how many times (``count``)."""

    repeat: Repeat
    count: int | None = PydanticField(default=None, ge=2, le=MAX_OCCURRENCES)
    until: date | None = None

    @model_validator(mode="after")
    def _one_end(self) -> SeriesCreate:
        if (self.count is None) == (self.until is None):
            raise ValueError("give either count (how many times) or until (a last date), not both")
        return self


OriginRelation = Literal["this_node", "ally", "former_ally"]


@dataclass(frozen=True)
class Origin:
    """Who owns an event, as this node knows them."""

    name: str
    relation: OriginRelation


class EventPublic(BaseModel):
    """An event as callers see it. ``modified_date`` changes and ``version`` grows with every
    change; ``object_id`` is the event's id across the coalition."""

    id: str
    object_id: str
    origin: str = PydanticField(description="The node that owns the event, its only writer.")
    origin_name: str = PydanticField(description="The owning organization's name.")
    origin_relation: OriginRelation = PydanticField(
        description="`this_node`; `ally`; or `former_ally` for what an ally shared before its "
        "alliance ended (kept, no longer updated)."
    )
    identifiers: list[str]
    title: str
    description: str
    start_date: datetime
    end_date: datetime
    timezone: str
    location: LocationPublic | None
    online_url: str | None
    event_type: EventType
    status: EventStatus
    capacity: int | None
    visibility: Visibility
    wards: list[int]
    precincts: list[str]
    version: int
    created_date: datetime
    modified_date: datetime
    series_id: str | None = PydanticField(
        description="The repeating series this event is an occurrence of, on its own node; "
        "null for a one-off event and for allies' events."
    )
    cancellation_reason: str | None = PydanticField(
        description="Why the event was cancelled, when its organizer said so."
    )
    rsvp_count: int | None = PydanticField(
        default=None,
        description="How many are going (RSVPs and walk-ins) to one of this node's events; null "
        "for allies' events, whose RSVPs stay on their own node. A count only: who RSVPed "
        "never leaves the organizers' pages.",
    )

    @classmethod
    def from_event(
        cls, event: Event, *, origins: Mapping[str, Origin], rsvp_count: int | None = None
    ) -> EventPublic:
        origin = origins.get(event.origin, Origin(name=event.origin, relation="former_ally"))
        return cls(
            id=event.id,
            object_id=event.object_id,
            origin=event.origin,
            origin_name=origin.name,
            origin_relation=origin.relation,
            identifiers=[f"ipo-node:{event.object_id}"],
            title=event.title,
            description=event.description,
            start_date=event.start_date,
            end_date=event.end_date,
            timezone=event.timezone,
            location=LocationPublic.stored(event.location),
            online_url=event.online_url,
            event_type=event.event_type,
            status=event.status,
            capacity=event.capacity,
            visibility=event.visibility,
            wards=event.wards,
            precincts=event.precincts,
            version=event.version,
            created_date=event.created_at,
            modified_date=event.updated_at,
            series_id=event.series_id,
            cancellation_reason=event.cancellation_reason,
            rsvp_count=rsvp_count,
        )


class SeriesPublic(BaseModel):
    """A repeating event and its occurrences (the ones not deleted), in order."""

    id: str
    rule: str = PydanticField(description="The RFC 5545 RRULE the occurrences were made by.")
    summary: str = PydanticField(description="The rule in words: `Every week, 10 times`.")
    events: list[EventPublic]
