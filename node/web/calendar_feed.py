"""Her calendar feed page: what the feed is, whether she has an address, and how to use it.

The feed address (``/coalition/calendar/<secret>.ics``) lets a calendar app, which cannot log
in, read her coalition calendar (:mod:`node.events.coalition_feed`). Only its hash is kept, so
the address is shown once, on the page that answers making it (201, not cached: the one page
answer that is not a redirect, because a redirect would have to carry the secret somewhere).
Making a new one or turning it off breaks the calendar apps subscribed to the old one, so both
ask first; a second "make" without that confirmation (a stale tab) is refused, changing nothing.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, Response

from node.accounts import service as accounts
from node.deps import SessionDep, SettingsDep
from node.errors import Conflict
from node.events import coalition_feed
from node.web.deps import PageUser
from node.web.rendering import page_router, redirect, render

router = page_router()

PAGE = "/calendar/feed"


def webcal(url: str) -> str:
    """The address as a ``webcal://`` link, which opens the subscribe dialog of the calendar
    app a phone or a computer has (Apple Calendar, Outlook)."""
    return "webcal://" + url.split("://", 1)[-1]


@router.get(PAGE, response_class=HTMLResponse)
async def feed_page(request: Request, principal: PageUser, session: SessionDep) -> Response:
    feed = await accounts.get_feed_secret(session, user=principal.user)
    return render(request, "calendar_feed.html", {"feed": feed, "url": None})


@router.post(PAGE, response_class=HTMLResponse)
async def make_feed(
    request: Request,
    principal: PageUser,
    session: SessionDep,
    settings: SettingsDep,
    replace: Annotated[str, Form()] = "",
) -> Response:
    """Make her feed address, or replace it once she confirmed; the answer shows it once."""
    if replace != "yes" and await accounts.get_feed_secret(session, user=principal.user):
        # A second tab, or a stale page: replacing breaks her calendar apps, so it is asked.
        raise Conflict(
            "You already have a calendar feed address. To replace it, use "
            "Make a new address on your calendar feed page and confirm."
        )
    feed, secret = await accounts.make_feed_secret(
        session, user=principal.user, actor=principal.actor
    )
    url = coalition_feed.feed_url(settings, secret)
    response = render(
        request,
        "calendar_feed.html",
        {"feed": feed, "url": url, "webcal_url": webcal(url)},
        status_code=201,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post(f"{PAGE}/revoke")
async def revoke_feed(principal: PageUser, session: SessionDep) -> Response:
    await accounts.revoke_feed_secret(session, user=principal.user, actor=principal.actor)
    return redirect(
        PAGE,
        notice="Your calendar feed address is turned off: calendar apps using it get nothing.",
    )
