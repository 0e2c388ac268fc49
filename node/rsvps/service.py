"""RSVPs: the rules. Places and the waitlist, the private link, and who is told what.

The private link (``/rsvp/<secret>``) is the RSVP's only key: there is no account. Only the
SHA-256 of its secret is stored, so a copy of the database opens no RSVP; a new link is made
(and the old one stops working) whenever one is sent again. A second RSVP with the same email
updates the first rather than adding a row; since whoever typed it may not own the address, its
link then goes only to that address, never onto the page.

Every change is told by email, queued in the same transaction (``node.mail``). Nothing here
reaches allies, webhooks or partners: they see counts at most (:func:`counts`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from federation.storage import utcnow
from node.audit.service import Actor, record
from node.config import Settings
from node.errors import Conflict, NotFound
from node.events import ics
from node.events.models import Event, EventStatus
from node.mail.service import Attachment, queue_mail
from node.members import repository as members
from node.members.models import Member
from node.rsvps import messages, repository
from node.rsvps.messages import Message, Snapshot
from node.rsvps.models import Rsvp, RsvpChoices, RsvpCreate, RsvpState, WalkIn
from node.rsvps.repository import Counts

TOKEN_PREFIX = "rsvp_"  # noqa: S105 -- a prefix, not a secret: it lets logs redact the rest
OPEN_STATES = (RsvpState.going, RsvpState.waitlisted)


class RsvpNotFound(NotFound):
    code = "rsvp_not_found"


class RsvpClosed(Conflict):
    code = "rsvp_closed"


@dataclass(frozen=True)
class Placed:
    """The answer to an RSVP: where she stands, and her private link when the page may show
    it (a first RSVP; an update of an earlier one sends it only by email)."""

    rsvp: Rsvp
    link: str | None
    was_known: bool


def page_url(settings: Settings, event: Event) -> str:
    return f"{settings.public_url}/events/{event.id}"


def link_for(settings: Settings, token: str) -> str:
    return f"{settings.public_url}/rsvp/{token}"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token(rsvp: Rsvp) -> str:
    token = TOKEN_PREFIX + secrets.token_urlsafe(24)
    rsvp.token_hash = hash_token(token)
    return token


def places_left(event: Event, counts: Counts) -> int | None:
    """Free places, or ``None`` when the event has no capacity (room for everyone)."""
    if event.capacity is None:
        return None
    return max(0, event.capacity - counts.going)


async def counts(session: AsyncSession, *, event_id: str) -> Counts:
    return (await repository.counts(session, event_ids=[event_id])).get(event_id, Counts())


async def counts_of(session: AsyncSession, *, event_ids: Sequence[str]) -> dict[str, Counts]:
    return await repository.counts(session, event_ids=event_ids)


async def _open_event(session: AsyncSession, *, event_id: str, settings: Settings) -> Event:
    """The event, locked, if RSVPs are taken: this node's own, on, and not over. Locked so
    that two RSVPs for the last place cannot both get it."""
    event = await session.get(Event, event_id, with_for_update=True)
    if event is None or event.origin != settings.public_url or event.is_deleted:
        raise RsvpClosed("This event takes no RSVPs here.")
    if event.status is EventStatus.cancelled:
        raise RsvpClosed("This event is cancelled, so it takes no RSVPs.")
    if event.end_date < utcnow():
        raise RsvpClosed("This event is over, so it takes no RSVPs.")
    return event


async def _place(session: AsyncSession, event: Event, rsvp: Rsvp) -> None:
    """Going if there is a place, else at the end of the waitlist."""
    left = places_left(event, await counts(session, event_id=event.id))
    if left is None or left > 0:
        rsvp.state, rsvp.waitlisted_at = RsvpState.going, None
    else:
        rsvp.state, rsvp.waitlisted_at = RsvpState.waitlisted, utcnow()


async def _member_for(session: AsyncSession, *, email: str, name: str, phone: str) -> int | None:
    """The member with this email; a new one (source ``rsvp``) when there is none. An RSVP
    never changes an existing member record: anyone can type anyone's email."""
    member = await members.by_email(session, email=email)
    if member is None:
        given, _, family = name.partition(" ")
        member = Member(
            given_name=given, family_name=family, email=email, phone=phone, source="rsvp"
        )
        session.add(member)
        await session.flush()
    return member.id


def _calendar_file(event: Event) -> Attachment:
    return Attachment(
        filename="event.ics",
        content_type="text/calendar; method=PUBLISH",
        data=ics.render_calendar([event], calendar_name=event.title),
    )


async def _send(
    session: AsyncSession, settings: Settings, *, to: str, message: Message, ics_of: Event | None
) -> None:
    await queue_mail(
        session,
        settings,
        kind=message.kind,
        to=to,
        subject=message.subject,
        text=message.text,
        attachments=[_calendar_file(ics_of)] if ics_of is not None else [],
    )


async def rsvp(
    session: AsyncSession, *, event_id: str, data: RsvpCreate, settings: Settings
) -> Placed:
    """RSVP to one of this node's events; an RSVP with an email already on the list updates
    that one (and brings it back if it was cancelled)."""
    event = await _open_event(session, event_id=event_id, settings=settings)
    email = data.email.lower()
    existing = await repository.by_email(session, event_id=event.id, email=email)
    target = existing or Rsvp(event_id=event.id, email=email, name=data.name, state=RsvpState.going)
    target.name, target.phone = data.name, data.phone
    target.texts_ok, target.share_with_co_hosts = data.texts_ok, data.share_with_co_hosts
    target.updated_at = utcnow()
    if existing is None or existing.state is RsvpState.cancelled:
        await _place(session, event, target)
    if target.member_id is None:
        target.member_id = await _member_for(session, email=email, name=data.name, phone=data.phone)
    token = _new_token(target)
    session.add(target)
    try:
        await session.flush()
    except IntegrityError:  # the same email RSVPing twice at the same moment
        raise Conflict("You just RSVPed with this email; check your inbox.") from None
    message = messages.confirmed(
        event,
        name=target.name,
        waitlisted=target.state is RsvpState.waitlisted,
        page=page_url(settings, event),
        link=link_for(settings, token),
    )
    await _send(session, settings, to=email, message=message, ics_of=event)
    link = None if existing is not None else link_for(settings, token)
    return Placed(rsvp=target, link=link, was_known=existing is not None)


async def by_token(session: AsyncSession, *, token: str) -> tuple[Rsvp, Event]:
    """The RSVP a private link opens, and its event; a link that opens nothing (mistyped,
    replaced by a newer one, or of a deleted event) is 404."""
    rsvp = await repository.by_token_hash(session, token_hash=hash_token(token))
    event = await session.get(Event, rsvp.event_id) if rsvp is not None else None
    if rsvp is None or event is None or event.is_deleted:
        raise RsvpNotFound("This RSVP link does not work (any more). RSVP again on the event page.")
    return rsvp, event


async def change(
    session: AsyncSession, *, token: str, data: RsvpChoices, settings: Settings
) -> Rsvp:
    """Her new name, phone and choices; the email confirms them (with the same link)."""
    rsvp, event = await by_token(session, token=token)
    if rsvp.state is RsvpState.cancelled:
        raise RsvpClosed("This RSVP is cancelled; RSVP again on the event page.")
    rsvp.name, rsvp.phone = data.name, data.phone
    rsvp.texts_ok, rsvp.share_with_co_hosts = data.texts_ok, data.share_with_co_hosts
    rsvp.updated_at = utcnow()
    session.add(rsvp)
    await session.flush()
    if rsvp.email:
        message = messages.changed(
            event, name=rsvp.name, page=page_url(settings, event), link=link_for(settings, token)
        )
        await _send(session, settings, to=rsvp.email, message=message, ics_of=None)
    return rsvp


async def cancel(session: AsyncSession, *, token: str, settings: Settings) -> Rsvp:
    """She is not coming: her place goes to the first on the waitlist. Cancelling twice
    changes nothing."""
    rsvp, event = await by_token(session, token=token)
    await session.refresh(event, with_for_update=True)  # her place may go to the next one
    if rsvp.state is RsvpState.cancelled:
        return rsvp
    rsvp.state, rsvp.waitlisted_at, rsvp.updated_at = RsvpState.cancelled, None, utcnow()
    session.add(rsvp)
    await session.flush()
    if rsvp.email:
        message = messages.cancelled(event, name=rsvp.name, page=page_url(settings, event))
        await _send(session, settings, to=rsvp.email, message=message, ics_of=None)
    await fill_free_places(session, event=event, settings=settings)
    return rsvp


async def fill_free_places(session: AsyncSession, *, event: Event, settings: Settings) -> int:
    """Move people from the waitlist to going while there are places; each is told, with a
    new private link. Returns how many moved."""
    if event.status is EventStatus.cancelled or event.is_deleted:
        return 0
    moved = 0
    while True:
        left = places_left(event, await counts(session, event_id=event.id))
        if left is not None and left <= 0:
            return moved
        first = await repository.first_waitlisted(session, event_id=event.id)
        if first is None:
            return moved
        first.state, first.waitlisted_at, first.updated_at = RsvpState.going, None, utcnow()
        token = _new_token(first)
        session.add(first)
        await session.flush()
        moved += 1
        if first.email:
            page, link = page_url(settings, event), link_for(settings, token)
            message = messages.promoted(event, name=first.name, page=page, link=link)
            await _send(session, settings, to=first.email, message=message, ics_of=event)


async def tell_attendees(
    session: AsyncSession,
    *,
    event: Event,
    before: Snapshot,
    settings: Settings,
    deleted: bool = False,
) -> int:
    """After a change of the event (called by ``node.events.service`` in its transaction):
    everyone going or waiting hears of a cancellation, a new time or a new place, and a larger
    capacity takes people off the waitlist. Returns how many were told."""
    if event.origin != settings.public_url:
        return 0
    changes = messages.what_changed(before, event, deleted=deleted)
    told = 0
    if changes:
        for rsvp in await repository.in_states(session, event_id=event.id, states=OPEN_STATES):
            if not rsvp.email:
                continue
            message = messages.event_changed(
                event, name=rsvp.name, changes=changes, page=page_url(settings, event)
            )
            await _send(session, settings, to=rsvp.email, message=message, ics_of=event)
            told += 1
    if deleted:
        # Nobody can come to an event that is gone: its list is personal data kept for nothing.
        await repository.delete_of_event(session, event_id=event.id)
    elif event.capacity != before.capacity:
        await fill_free_places(session, event=event, settings=settings)
    return told


async def forget(session: AsyncSession, *, email: str, settings: Settings) -> int:
    """Delete every RSVP made with ``email`` (she erased her data); a place she held goes to
    the first on its waitlist, as if she had cancelled (she is not told: she is gone)."""
    held = await repository.by_email_everywhere(session, email=email)
    for rsvp in held:
        await session.delete(rsvp)
    await session.flush()
    for event_id in {r.event_id for r in held if r.state is RsvpState.going}:
        event = await session.get(Event, event_id, with_for_update=True)
        if event is not None:
            await fill_free_places(session, event=event, settings=settings)
    return len(held)


# ---- at the door (organizers) -----------------------------------------------------------------


async def _own_event(session: AsyncSession, *, event_id: str, settings: Settings) -> Event:
    event = await session.get(Event, event_id)
    if event is None or event.origin != settings.public_url or event.is_deleted:
        raise NotFound(f"No event {event_id} of this node.")
    return event


async def attendees(session: AsyncSession, *, event_id: str, settings: Settings) -> list[Rsvp]:
    await _own_event(session, event_id=event_id, settings=settings)
    return await repository.of_event(session, event_id=event_id)


async def toggle_check_in(
    session: AsyncSession, *, event_id: str, rsvp_id: int, settings: Settings
) -> Rsvp:
    """One tap at the door: checked in, or (a wrong tap) not any more."""
    await _own_event(session, event_id=event_id, settings=settings)
    rsvp = await session.get(Rsvp, rsvp_id)
    if rsvp is None or rsvp.event_id != event_id or rsvp.state is not RsvpState.going:
        raise RsvpNotFound("That person is not on this event's list of people going.")
    rsvp.checked_in_at = None if rsvp.is_checked_in else utcnow()
    rsvp.updated_at = utcnow()
    session.add(rsvp)
    await session.flush()
    return rsvp


async def walk_in(
    session: AsyncSession, *, event_id: str, data: WalkIn, actor: Actor, settings: Settings
) -> Rsvp:
    """Someone at the door who did not RSVP (or whose RSVP is found by email): going and
    checked in, whatever the capacity, since they are already in the room."""
    event = await _own_event(session, event_id=event_id, settings=settings)
    email = data.email.lower() if data.email else None
    rsvp = await repository.by_email(session, event_id=event.id, email=email) if email else None
    if rsvp is None:
        rsvp = Rsvp(event_id=event.id, email=email, name=data.name, state=RsvpState.going)
        rsvp.is_walk_in, rsvp.phone = True, data.phone
        if email:
            rsvp.member_id = await _member_for(
                session, email=email, name=data.name, phone=data.phone
            )
    rsvp.state, rsvp.waitlisted_at = RsvpState.going, None
    rsvp.checked_in_at = rsvp.checked_in_at or utcnow()
    rsvp.updated_at = utcnow()
    session.add(rsvp)
    await session.flush()
    await record(
        session,
        actor=actor,
        action="rsvp.walk_in",
        object_type="event",
        object_id=event.id,
        detail={"rsvp_id": rsvp.id},
    )
    return rsvp


CSV_COLUMNS = ("name", "email", "phone", "state", "checked_in", "texts_ok",
               "share_with_co_hosts", "walk_in", "rsvped_at")  # fmt: skip
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # as node.members.csv_io guards its cells


def _cell(value: object) -> str:
    if isinstance(value, bool):
        value = "yes" if value else "no"
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


async def export_csv(
    session: AsyncSession, *, event_id: str, actor: Actor, settings: Settings
) -> str:
    """The event's list as CSV (cancelled RSVPs left out), recorded in the audit log."""
    rows = [
        r for r in await attendees(session, event_id=event_id, settings=settings)
        if r.state is not RsvpState.cancelled
    ]  # fmt: skip
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        writer.writerow(
            _cell(value)
            for value in (
                r.name, r.email, r.phone, r.state.value, r.is_checked_in, r.texts_ok,
                r.share_with_co_hosts, r.is_walk_in, r.created_at.isoformat(),
            )
        )  # fmt: skip
    await record(
        session,
        actor=actor,
        action="rsvp.export_csv",
        object_type="event",
        object_id=event_id,
        detail={"count": len(rows)},
    )
    return "\ufeff" + out.getvalue()
