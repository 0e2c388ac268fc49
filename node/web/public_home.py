"""The group's public home at ``/``: what a neighbour sees without an account.

Only what is public shows here, ever: this group's public events and forums, its allies'
public events (named as theirs, linking to their own pages), the joint endorsements it
ratified and chose to show (a local choice, see ``node.endorsements.service.set_public``),
the group's profile and its public calendar feed. Coalition and private things, members and
anything personal stay behind the login; a logged-in visitor gets a link to them.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from federation.models import AllianceState
from federation.peers import list_peers
from federation.storage import utcnow
from node import formatting
from node.config import Settings
from node.deps import SessionDep, SettingsDep
from node.endorsements import service as endorsements
from node.endorsements.models import EndorsementPublic
from node.events import repository as events
from node.events.models import Event, EventStatus, Visibility
from node.forums import service as forums
from node.forums.models import ForumPlan
from node.profile import service as profiles
from node.web.calendar import type_label
from node.web.deps import PageVisitor
from node.web.endorsements import OFFICES
from node.web.groups import group_names
from node.web.public_view import (
    ShareCard,
    place_of,
    summary,
    webcal,
)
from node.web.rendering import page_router, render

router = page_router()
EVENTS_SHOWN = 30


@dataclass(frozen=True)
class Listing:
    """One upcoming event or forum as the home lists it."""

    title: str
    kind: str
    when: str
    place: str
    href: str
    group: str | None  # an ally's name; None for this group's own
    group_href: str | None
    is_cancelled: bool


def wards_in_words(wards: list[int]) -> str:
    """``[33]`` as "Ward 33", ``[33, 35, 39]`` as "Wards 33, 35 and 39"."""
    if not wards:
        return ""
    if len(wards) == 1:
        return f"Ward {wards[0]}"
    *first, last = (str(ward) for ward in sorted(wards))
    return f"Wards {', '.join(first)} and {last}"


def _forum_listing(plan: ForumPlan) -> Listing:
    return Listing(
        title=plan.title, kind="Forum", when=formatting.moment(plan.start_date, plan.timezone),
        place=place_of(plan.location).words, href=f"/forums/{plan.id}", group=None,
        group_href=None, is_cancelled=plan.status is EventStatus.cancelled,
    )  # fmt: skip


def _event_listing(event: Event, *, me: str, names: dict[str, str]) -> Listing:
    ours = event.origin == me
    return Listing(
        title=event.title,
        kind=type_label(event.event_type.value),
        when=formatting.moment(event.start_date, event.timezone),
        place=place_of(event.location).words,
        # This group's page for its own events; an ally's event on the ally's own node.
        href=f"/events/{event.id}" if ours else event.object_id,
        group=None if ours else names.get(event.origin, event.origin),
        group_href=None if ours else f"{event.origin}/",
        is_cancelled=event.status is EventStatus.cancelled,
    )


async def _upcoming_events(
    session: AsyncSession, *, settings: Settings, names: dict[str, str], skip: set[str]
) -> list[Listing]:
    """Public events not over yet, this group's and its active allies' (not a former or
    suspended ally's), leaving out the forums listed on their own."""
    allies = {
        peer.node_id for peer in await list_peers(session) if peer.state is AllianceState.active
    }
    origins = allies | {settings.public_url}
    found = await events.events_in_window(
        session, visible=(Visibility.public,), ends_after=utcnow()
    )
    return [
        _event_listing(event, me=settings.public_url, names=names)
        for event in found
        if event.origin in origins and event.object_id not in skip
    ][:EVENTS_SHOWN]


@dataclass(frozen=True)
class PublicEndorsement:
    endorsement: EndorsementPublic
    signed_by: list[str]


async def _endorsements(session: AsyncSession, *, names: dict[str, str]) -> list[PublicEndorsement]:
    shown = []
    for endorsement in await endorsements.public_endorsements(session):
        public = await endorsements.to_public(session, endorsement)
        signers = {
            s.signer
            for s in public.signatures
            if s.decision == "sign" and s.content_version == public.content_version
        }
        signed = [names.get(n, n) for n in public.required_signers if n in signers]
        shown.append(PublicEndorsement(public, signed))
    return shown


@router.get("/", response_class=HTMLResponse)
async def public_home(
    request: Request, principal: PageVisitor, session: SessionDep, settings: SettingsDep
) -> Response:
    profile = await profiles.get_profile(session)
    names = await group_names(session, settings=settings)
    plans = await forums.public_forums(session, settings=settings)
    skip = {plan.event_object_id for plan in plans if plan.event_object_id}
    feed = f"{settings.public_url}/calendar.ics"
    wards = wards_in_words(settings.wards)
    about = profile.paragraphs
    card = ShareCard(
        title=settings.name,
        description=summary(about[0]) if about else f"{settings.name}: {wards or 'Chicago'}",
        url=f"{settings.public_url}/",
        site_name=settings.name,
    )
    return render(request, "public_home.html", {
        "profile": profile, "about": about, "wards": wards, "card": card,
        "forums": [_forum_listing(plan) for plan in plans],
        "events": await _upcoming_events(session, settings=settings, names=names, skip=skip),
        "endorsements": await _endorsements(session, names=names),
        "offices": dict(OFFICES), "day": formatting.day, "feed": feed, "webcal": webcal(feed),
        "signed_in": principal is not None,
    })  # fmt: skip
