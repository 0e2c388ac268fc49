"""Events as an iCalendar (RFC 5545) feed.

A pure function of the events and a calendar name, so that a coalition-wide feed can reuse it
with events gathered from several nodes. Subscribers' calendar apps match events by ``UID``
and take the one with the highest ``SEQUENCE``, which is why the UID is the event's global
``object_id`` (stable across updates) and SEQUENCE follows its version.
"""

from __future__ import annotations

from collections.abc import Iterable
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


def render_calendar(events: Iterable[Event], *, calendar_name: str) -> bytes:
    """The feed for ``events``, as UTF-8 bytes with CRLF line endings."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", calendar_name)
    for event in events:
        calendar.add_component(_vevent(event))
    return bytes(calendar.to_ical())


def _vevent(event: Event) -> CalendarEvent:
    vevent = CalendarEvent()
    vevent.add("uid", event.object_id)
    # RFC 5545 starts SEQUENCE at 0 for the first revision; our versions start at 1.
    vevent.add("sequence", event.version - 1)
    vevent.add("dtstamp", event.updated_at)
    vevent.add("created", event.created_at)
    vevent.add("last-modified", event.updated_at)
    vevent.add("dtstart", event.start_date)
    vevent.add("dtend", event.end_date)
    vevent.add("summary", event.title)
    if event.description:
        vevent.add("description", event.description)
    place = location_text(event.location)
    if place:
        vevent.add("location", place)
    point = (event.location or {}).get("location")
    if point:
        vevent.add("geo", (point["latitude"], point["longitude"]))
    if event.online_url:
        vevent.add("url", event.online_url)
    vevent.add("status", _STATUS[event.status])
    vevent.add("categories", [event.event_type.value])
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
