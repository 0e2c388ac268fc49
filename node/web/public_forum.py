"""A public forum as a neighbour sees it, at the forum's own address (``/forums/{id}``).

``node.web.forums`` answers a logged-in user with the co-hosts' working page and hands an
anonymous visitor here. A public forum shows what its audience needs (when, where, who hosts,
the agenda and the candidates invited) and nothing of the work behind it: no tasks, no
questions, no roles. A coalition or private forum, or one that does not exist, sends the
visitor to log in, the same answer in every case, so the address tells a stranger nothing.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from node import formatting
from node.config import Settings
from node.events.models import EventStatus
from node.forums import service
from node.forums.models import CoHostStatus, ForumPlan
from node.web.groups import group_names
from node.web.public_view import ShareCard, place_of, summary
from node.web.rendering import LoginRequired, render

CANDIDATE_ANSWERS = {
    "confirmed": "confirmed",
    "invited": "invited",
    "declined": "declined",
    "no_response": "has not answered",
}


def _rsvp_url(plan: ForumPlan) -> str | None:
    """The forum's event page, where people say they are coming (on the organizing node)."""
    if plan.status is EventStatus.cancelled:
        return None
    if plan.event_id is not None:
        return f"/events/{plan.event_id}"
    return plan.event_object_id


async def public_forum_page(
    request: Request, *, forum_id: str, session: AsyncSession, settings: Settings
) -> Response:
    try:
        plan = await service.get_forum(session, forum_id=forum_id, role=None)
    except service.ForumNotFound:
        raise LoginRequired() from None
    names = await group_names(session, settings=settings)
    when = formatting.when(plan.start_date, plan.end_date, plan.timezone)
    place = place_of(plan.location)
    co_hosts = [
        names.get(c["node"], c["node"])
        for c in plan.co_hosts
        if c["status"] == CoHostStatus.accepted.value
    ]
    description = [part.strip() for part in plan.description.split("\n\n") if part.strip()]
    card = ShareCard(
        title=plan.title,
        description=summary(" · ".join(filter(None, [when, place.words, plan.description]))),
        url=plan.object_id,  # the organizer's page: the address every copy points to
        site_name=settings.name,
    )
    return render(request, "public_forum.html", {
        "plan": plan, "when": when, "place": place, "card": card, "description": description,
        "host": names.get(plan.origin, plan.origin), "host_url": f"{plan.origin}/",
        "co_hosts": co_hosts, "rsvp_url": _rsvp_url(plan),
        "agenda": sorted(plan.agenda_items, key=lambda item: item["position"]),
        "candidates": plan.candidate_invitations, "answers": CANDIDATE_ANSWERS,
    })  # fmt: skip
