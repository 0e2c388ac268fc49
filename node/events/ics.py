"""Events as an iCalendar (RFC 5545) feed.

A pure function of the events and a calendar name, so that a coalition-wide feed can reuse it
with events gathered from several nodes. Subscribers' calendar apps match events by ``UID``
and take the one with the highest ``SEQUENCE``, which is why the UID is the event's global
``object_id`` (stable across updates) and SEQUENCE follows its version.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from icalendar import Calendar
from icalendar import Event as CalendarEvent

from node.events.models import Event, EventStatus

PRODID = "-//ipo-node//EN"
MEDIA_TYPE = "text/calendar; charset=utf-8"

_STATUS = {
    EventStatus.confirmed: "CONFIRMED",
    EventStatus.tentative: "TENTATIVE",
    EventStatus.cancelled: "CANCELLED",
}


@dataclass(frozen=True)
class CalendarItem:
    """One VEVENT: an event, or another dated thing (a forum, a canvass shift) shaped as one.

    ``uid`` must be a global id that never changes (an object id); ``version`` starts at 1.
    """

    uid: str
    version: int
    created: datetime
    modified: datetime
    start: datetime
    end: datetime
    summary: str
    status: EventStatus
    categories: list[str]
    description: str = ""
    location: dict[str, Any] | None = None
    url: str | None = None
    extra: list[tuple[str, str]] = field(default_factory=list)


def item_of(event: Event) -> CalendarItem:
    """An event as a calendar item."""
    return CalendarItem(
        uid=event.object_id,
        version=event.version,
        created=event.created_at,
        modified=event.updated_at,
        start=event.start_date,
        end=event.end_date,
        summary=event.title,
        status=event.status,
        categories=[event.event_type.value],
        description=event.description,
        location=event.location,
        url=event.online_url,
    )


def render_calendar(events: Iterable[Event | CalendarItem], *, calendar_name: str) -> bytes:
    """The feed for ``events``, as UTF-8 bytes with CRLF line endings."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", calendar_name)
    for event in events:
        item = event if isinstance(event, CalendarItem) else item_of(event)
        calendar.add_component(_vevent(item))
    return bytes(calendar.to_ical())


def _vevent(item: CalendarItem) -> CalendarEvent:
    vevent = CalendarEvent()
    vevent.add("uid", item.uid)
    # RFC 5545 starts SEQUENCE at 0 for the first revision; our versions start at 1.
    vevent.add("sequence", item.version - 1)
    vevent.add("dtstamp", item.modified)
    vevent.add("created", item.created)
    vevent.add("last-modified", item.modified)
    vevent.add("dtstart", item.start)
    vevent.add("dtend", item.end)
    vevent.add("summary", item.summary)
    if item.description:
        vevent.add("description", item.description)
    place = location_text(item.location)
    if place:
        vevent.add("location", place)
    point = (item.location or {}).get("location")
    if point:
        vevent.add("geo", (point["latitude"], point["longitude"]))
    if item.url:
        vevent.add("url", item.url)
    vevent.add("status", _STATUS[item.status])
    vevent.add("categories", item.categories)
    for name, value in item.extra:
        vevent.add(name, value)
    return vevent


def location_text(location: dict[str, Any] | None) -> str:
    """The venue and address on one line, as calendar apps show LOCATION."""
    if not location:
        return ""
    parts = [
        location.get("venue"),
        *location.get("address_lines", []),
        location.get("locality"),
        " ".join(p for p in (location.get("region"), location.get("postal_code")) if p),
    ]
    return ", ".join(part for part in parts if part)
