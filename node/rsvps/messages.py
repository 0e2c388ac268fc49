"""What RSVP emails say, and an event's time and place in plain words (the page says the same).

Every message is plain text in the caller's transaction (``queue_mail``); the ones that carry
the private link say so, since a forwarded message hands over the RSVP with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from node import formatting
from node.events import ics
from node.events.models import Event

_HOW_TO_CHANGE = (
    "To change your details or cancel, open your private link (keep it to yourself: "
    "anyone with it can change your RSVP):\n{link}\n"
)


def event_time(event: Event) -> str:
    """When, as every page says it (:mod:`node.formatting`), in the event's own zone."""
    return formatting.when(event.start_date, event.end_date, event.timezone)


def place_words(event: Event) -> str:
    place = ics.location_text(event.location)
    if place:
        return place
    return "Online" if event.online_url else "To be announced"


@dataclass(frozen=True)
class Message:
    kind: str
    subject: str
    text: str


def _about(event: Event, page: str) -> str:
    return f"{event.title}\nWhen: {event_time(event)}\nWhere: {place_words(event)}\n{page}\n"


def confirmed(event: Event, *, name: str, waitlisted: bool, page: str, link: str) -> Message:
    if waitlisted:
        opening = (
            f"Hi {name},\n\n{event.title} is full, so you are on the waitlist. If a place frees "
            "up, it is yours and we will email you.\n\n"
        )
        subject = f"You're on the waitlist: {event.title}"
    else:
        opening = (
            f"Hi {name},\n\nYou're going. The event is in your calendar with the attached file.\n\n"
        )
        subject = f"You're going: {event.title}"
    return Message(
        kind="rsvp_confirmed",
        subject=subject,
        text=opening + _about(event, page) + "\n" + _HOW_TO_CHANGE.format(link=link),
    )


def changed(event: Event, *, name: str, page: str, link: str) -> Message:
    return Message(
        kind="rsvp_changed",
        subject=f"Your RSVP was changed: {event.title}",
        text=f"Hi {name},\n\nYour RSVP was changed as you asked.\n\n"
        + _about(event, page)
        + "\n"
        + _HOW_TO_CHANGE.format(link=link),
    )


def cancelled(event: Event, *, name: str, page: str) -> Message:
    return Message(
        kind="rsvp_cancelled",
        subject=f"Your RSVP was cancelled: {event.title}",
        text=f"Hi {name},\n\nYou are no longer on the list for this event. If you change your "
        f"mind, RSVP again on its page.\n\n{_about(event, page)}",
    )


def promoted(event: Event, *, name: str, page: str, link: str) -> Message:
    return Message(
        kind="rsvp_promoted",
        subject=f"A place freed up, you're going: {event.title}",
        text=f"Hi {name},\n\nA place freed up, and it is yours: you're going.\n\n"
        + _about(event, page)
        + "\nIf you can no longer come, cancel so the next person gets the place.\n"
        + _HOW_TO_CHANGE.format(link=link),
    )


@dataclass(frozen=True)
class Snapshot:
    """What attendees are told about when it changes: status, times and place."""

    status: str
    start: datetime
    end: datetime
    timezone: str
    location: dict[str, Any] | None
    online_url: str | None
    capacity: int | None

    @classmethod
    def of(cls, event: Event) -> Snapshot:
        return cls(
            status=event.status.value,
            start=event.start_date,
            end=event.end_date,
            timezone=event.timezone,
            location=dict(event.location) if event.location else None,
            online_url=event.online_url,
            capacity=event.capacity,
        )


def what_changed(before: Snapshot, event: Event, *, deleted: bool) -> list[str]:
    """Each change an attendee should hear about, as a sentence; empty when none."""
    if deleted:
        if before.status == "cancelled":
            return []  # they heard when it was cancelled
        return ["The event was called off and removed from the calendar."]
    if event.status.value == "cancelled" and before.status != "cancelled":
        reason = (getattr(event, "cancellation_reason", None) or "").strip()
        return ["The event is cancelled." + (f" The organizers say: {reason}" if reason else "")]
    changes = []
    now = Snapshot.of(event)
    # The same instants said in another zone have not moved: nobody needs telling.
    if (now.start, now.end) != (before.start, before.end):
        was = formatting.when(before.start, before.end, before.timezone)
        changes.append(f"It has moved to {event_time(event)} (it was {was}).")
    if (now.location, now.online_url) != (before.location, before.online_url):
        was = ics.location_text(before.location) or ("online" if before.online_url else "")
        changes.append(f"It is now at {place_words(event)}" + (f" (it was {was})." if was else "."))
    if before.status == "cancelled" and event.status.value != "cancelled":
        changes.append("It is on again: it is no longer cancelled.")
    return changes


def event_changed(event: Event, *, name: str, changes: list[str], page: str) -> Message:
    off = changes and changes[0].startswith(("The event is cancelled", "The event was called"))
    subject = f"{'Cancelled' if off else 'Changed'}: {event.title}"
    return Message(
        kind="event_changed",
        subject=subject,
        text=f"Hi {name},\n\nYou RSVPed to {event.title}. "
        + ("It will not take place.\n\n" if off else "Something changed.\n\n")
        + "\n".join(changes)
        + "\n\n"
        + _about(event, page),
    )
